/*
 * letter.c — letters to residents as an A4 PDF (cairo draws, pango shapes and breaks the lines)
 * or as plain text. The contract is in include/jukinet/letter.h.
 *
 * A letter holds copies of its blocks; nothing is laid out until jk_letter_pdf. Rendering lays
 * the blocks out once (flow: pango shapes and breaks every text, checks that IPAmj明朝 itself
 * has each glyph, and each line or table cell is placed on a page as an op holding its layout),
 * then opens the file and draws the ops, the page count known for the "n / N" footers. Shaping
 * is most of the cost (a 5-page letter: about 40 ms), so nothing is shaped twice but the table
 * cells (measured for the column widths, then laid out at their width).
 *
 * The page, in points (1/72 inch, the PDF user unit):
 *
 *   | what       | value                                                                |
 *   |------------|----------------------------------------------------------------------|
 *   | page       | A4, 595.28 x 841.89; margins 20 mm (56.69) on every side              |
 *   | letterhead | date right, addressee left (12 pt), sender right                     |
 *   | title      | 16 pt, centred, a blank line above and below                         |
 *   | heading    | 12 pt bold (synthetic: IPAmj明朝 has one weight), kept with what follows |
 *   | body       | 10.5 pt, line pitch 1.7 em, justified, broken across pages by line    |
 *   | table      | 9 pt, 0.5 pt rules, grey header row repeated on each page; rows whole |
 *   | footer     | "n / N", 9 pt, centred in the bottom margin                          |
 *
 * Fonts: every text run must come out in IPAmj明朝. pango would silently substitute another
 * family — for the whole letter when the font is missing, or per character when the font lacks
 * one — and a resident's name printed in the wrong glyph (髙 as 高) is a wrong name, so both
 * are refused (JK_EUNSUPPORTED). Each rendering uses its own font map (pango's are not
 * thread-safe), so letters may be rendered on several threads at once. The layout context is
 * set up as a PDF surface's is (72 units an inch, no hinted metrics), so what was measured is
 * what is drawn.
 */
#include "jukinet/letter.h"

#include "jukinet/buf.h"
#include "jukinet/i18n.h"
#include "jukinet/text.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <pango/pangocairo.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---------------------------------------------------------------- the letter */

enum kind { B_HEADER, B_TITLE, B_PARA, B_HEADING, B_TABLE };

struct block {
  enum kind kind;
  char *s[3];          /* header: date line, addressee, sender (NULL = left out); else s[0] */
  size_t ncols, nrows; /* table */
  char **cells;        /* table: (nrows + 1) * ncols strings, the header row first, none NULL */
};

struct jk_letter {
  struct block *blocks;
  size_t n, cap;
  size_t bytes;  /* text held, against JK_LETTER_TEXT_MAX */
  jk_err poison; /* the first refused block: the letter may not go out without it */
};

static void block_clear(struct block *b) {
  for (int i = 0; i < 3; i++) jk_free(b->s[i]);
  if (b->cells)
    for (size_t i = 0; i < (b->nrows + 1) * b->ncols; i++) jk_free(b->cells[i]);
  jk_free(b->cells);
  memset(b, 0, sizeof *b);
}

jk_err jk_letter_new(jk_letter **out) {
  if (!out) return jk_error_set(JK_EINVAL, "letter: no letter");
  *out = jk_calloc(1, sizeof **out);
  return *out ? JK_OK : jk_error_set(JK_ENOMEM, NULL);
}

void jk_letter_free(jk_letter *l) {
  if (!l) return;
  for (size_t i = 0; i < l->n; i++) block_clear(&l->blocks[i]);
  jk_free(l->blocks);
  jk_free(l);
}

/* Text a block may hold: valid UTF-8, no control character but "\n". `what` names the text for
 * the error detail (translated). */
static jk_err check_text(const char *s, const char *what) {
  if (!s) return jk_error_set(JK_EINVAL, "letter: %s: no text", jk_tr(what));
  size_t n = strlen(s), ok = jk_utf8_valid_prefix(s, n);
  if (ok != n) return jk_error_set(JK_EINVAL, "letter: %s: invalid UTF-8 at byte %zu", jk_tr(what), ok);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i], next = (unsigned char)s[i + 1]; /* valid: i + 1 <= n */
    unsigned cp = c < 0x80 ? c : 0xFFFF;
    if (c == 0xC2 && next >= 0x80 && next <= 0x9F) cp = next; /* C1 control, U+0080..U+009F */
    if ((cp < 0x20 && cp != '\n') || (cp >= 0x7F && cp <= 0x9F))
      return jk_error_set(JK_EINVAL, "letter: %s: a control character (U+%04X) at byte %zu", jk_tr(what), cp, i);
  }
  return JK_OK;
}

/* Entry of every block call: a refused block poisons the letter for good. */
static jk_err usable(const jk_letter *l) {
  if (!l) return jk_error_set(JK_EINVAL, "letter: no letter");
  if (l->poison)
    return jk_error_set(l->poison, "letter: an earlier block was refused, so this letter cannot be completed");
  return JK_OK;
}

static jk_err refuse(jk_letter *l, jk_err e) {
  if (!l->poison) l->poison = e;
  return e;
}

/* Count n bytes against the letter's cap. */
static jk_err take_bytes(jk_letter *l, size_t n) {
  if (n > JK_LETTER_TEXT_MAX - l->bytes)
    return jk_error_set(JK_ETOOLARGE, "letter: more than %u bytes of text", JK_LETTER_TEXT_MAX);
  l->bytes += n;
  return JK_OK;
}

static jk_err dup_text(jk_letter *l, const char *s, char **out) {
  jk_err e;
  if ((e = take_bytes(l, strlen(s) + 1))) return e;
  *out = jk_strdup(s);
  return *out ? JK_OK : jk_error_set(JK_ENOMEM, NULL);
}

/* Append b (taking its strings, even on failure). */
static jk_err push(jk_letter *l, struct block *b) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    struct block *p = jk_realloc(l->blocks, cap * sizeof *p);
    if (!p) {
      block_clear(b);
      return jk_error_set(JK_ENOMEM, NULL);
    }
    l->blocks = p;
    l->cap = cap;
  }
  l->blocks[l->n++] = *b;
  return JK_OK;
}

/* One-string block (title, paragraph, heading). */
static jk_err add_text(jk_letter *l, enum kind kind, const char *text, const char *what) {
  struct block b = {.kind = kind};
  size_t before = l ? l->bytes : 0;
  jk_err e;
  if ((e = usable(l))) return e;
  if ((e = check_text(text, what)) || (e = dup_text(l, text, &b.s[0])) || (e = push(l, &b))) {
    block_clear(&b);
    l->bytes = before;
    return refuse(l, e);
  }
  return JK_OK;
}

jk_err jk_letter_header(jk_letter *l, const char *date_line, const char *to, const char *from) {
  static const char *const what[3] = {JK_N_("the date line"), JK_N_("the addressee"), JK_N_("the sender")};
  const char *s[3] = {date_line, to, from};
  struct block b = {.kind = B_HEADER};
  size_t before = l ? l->bytes : 0;
  jk_err e;
  if ((e = usable(l))) return e;
  for (int i = 0; i < 3 && !e; i++)
    if (s[i] && !(e = check_text(s[i], what[i]))) e = dup_text(l, s[i], &b.s[i]);
  if (e || (e = push(l, &b))) {
    block_clear(&b);
    l->bytes = before;
    return refuse(l, e);
  }
  return JK_OK;
}

jk_err jk_letter_title(jk_letter *l, const char *title) { return add_text(l, B_TITLE, title, JK_N_("the title")); }
jk_err jk_letter_para(jk_letter *l, const char *text) { return add_text(l, B_PARA, text, JK_N_("a paragraph")); }
jk_err jk_letter_heading(jk_letter *l, const char *text) { return add_text(l, B_HEADING, text, JK_N_("a heading")); }

jk_err jk_letter_table(jk_letter *l, size_t ncols, const char *const *head, const char *const *cells, size_t nrows) {
  struct block b = {.kind = B_TABLE};
  size_t before = l ? l->bytes : 0;
  jk_err e;
  if ((e = usable(l))) return e;
  if (ncols < 1 || ncols > JK_LETTER_COLS_MAX || !head || (nrows && !cells)) {
    e = jk_error_set(JK_EINVAL, "letter: a table needs 1 to %d columns, a header row and its cells", JK_LETTER_COLS_MAX);
    return refuse(l, e);
  }
  /* every cell costs at least its NUL, so the cap also bounds the pointer array */
  if (nrows > JK_LETTER_TEXT_MAX / ncols) {
    e = jk_error_set(JK_ETOOLARGE, "letter: more than %u bytes of text", JK_LETTER_TEXT_MAX);
    return refuse(l, e);
  }
  size_t total = (nrows + 1) * ncols;
  b.ncols = ncols;
  b.nrows = nrows;
  if (!(b.cells = jk_calloc(total, sizeof *b.cells))) e = jk_error_set(JK_ENOMEM, NULL);
  for (size_t i = 0; i < total && !e; i++) {
    const char *s = i < ncols ? head[i] : cells[i - ncols];
    if (!s && i >= ncols) s = "";
    if (!(e = check_text(s, i < ncols ? JK_N_("a table heading") : JK_N_("a table cell")))) e = dup_text(l, s, &b.cells[i]);
    if (e && i >= ncols) e = jk_error_prefix("row %zu, column %zu: ", (i - ncols) / ncols + 1, (i - ncols) % ncols + 1);
  }
  if (e || (e = push(l, &b))) {
    block_clear(&b);
    l->bytes = before;
    return refuse(l, e);
  }
  return JK_OK;
}

/* ---------------------------------------------------------------- plain text */

jk_err jk_letter_text(jk_letter *l, char **out, size_t *len) {
  jk_buf b = {.max = 2 * (size_t)JK_LETTER_TEXT_MAX};
  jk_err e = JK_OK;
  if (out) *out = NULL;
  if (len) *len = 0;
  if (!out) return jk_error_set(JK_EINVAL, "letter: no letter");
  if ((e = usable(l))) return e;
  for (size_t i = 0; i < l->n && !e; i++) {
    const struct block *k = &l->blocks[i];
    if (i > 0) e = jk_buf_appends(&b, "\n");
    if (k->kind != B_TABLE) {
      for (int j = 0; j < 3 && !e; j++)
        if (k->s[j] && !(e = jk_buf_appends(&b, k->s[j]))) e = jk_buf_appends(&b, "\n");
      continue;
    }
    for (size_t r = 0; r <= k->nrows && !e; r++) {
      for (size_t c = 0; c < k->ncols && !e; c++) {
        const char *s = k->cells[r * k->ncols + c];
        if (c > 0) e = jk_buf_appends(&b, "\t");
        for (const char *nl; !e && (nl = strchr(s, '\n')); s = nl + 1)
          if (!(e = jk_buf_append(&b, s, (size_t)(nl - s)))) e = jk_buf_appends(&b, " ");
        if (!e) e = jk_buf_appends(&b, s);
      }
      if (!e) e = jk_buf_appends(&b, "\n");
    }
  }
  if (e) {
    jk_buf_free(&b);
    return e;
  }
  if (!(*out = jk_buf_steal(&b, len))) return jk_error_set(JK_ENOMEM, NULL);
  return JK_OK;
}

/* ---------------------------------------------------------------- rendering */

#define MM(x) ((x) * 72.0 / 25.4)
#define PAGE_W MM(210.0)
#define PAGE_H MM(297.0)
#define MARGIN MM(20.0)
#define TEXT_W (PAGE_W - 2 * MARGIN)
#define TOP MARGIN
#define BOTTOM (PAGE_H - MARGIN)
#define PITCH 1.7          /* line pitch of running text, in em */
#define CELL_SPACING 1.25  /* line pitch inside a table cell (pango's factor) */
#define PAD_X 4.0          /* cell padding, points */
#define PAD_Y 3.0
#define RULE 0.5           /* table rule width, points */

enum font { F_BODY, F_TO, F_TITLE, F_HEADING, F_TABLE, F_FOOT, F_COUNT };
static const double font_pt[F_COUNT] = {10.5, 12.0, 16.0, 12.0, 9.0, 9.0};
#define BODY_PITCH (PITCH * font_pt[F_BODY])

/* The names fontconfig gives IPAmj明朝 (its family has both). */
static const char *const font_names[] = {JK_LETTER_FONT, "IPAmjMincho"};

/* One thing to draw, placed: a line of running text (its baseline at y), or a table cell (its
 * box at x, y, w, h, the layout inside the padding). Holds a reference to its layout. */
struct op {
  int page;
  bool head;             /* a header cell: grey */
  double x, y, w, h;
  PangoLayout *lay;
  PangoLayoutLine *line; /* a line of lay, or NULL for a cell */
};

struct render {
  PangoFontMap *fm;
  PangoContext *ctx;
  PangoFontDescription *font[F_COUNT];
  PangoFont *primary; /* IPAmj明朝 at body size: asked which characters it has */
  char *family;       /* the family name pango reports for it */
  PangoFont *seen;    /* the last font found to be IPAmj明朝 */
  struct op *ops;     /* in page order */
  size_t nops, cap;
  int page;           /* current page, 0-based */
  double y;           /* top of the free space on the page */
};

static jk_err op_add(struct render *r, PangoLayout *lay, PangoLayoutLine *line, double x, double y, double w,
                     double h, bool head) {
  if (r->nops == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 256;
    struct op *p = jk_realloc(r->ops, cap * sizeof *p);
    if (!p) return jk_error_set(JK_ENOMEM, NULL);
    r->ops = p;
    r->cap = cap;
  }
  r->ops[r->nops++] = (struct op){.page = r->page, .head = head, .x = x, .y = y, .w = w, .h = h,
                                  .lay = g_object_ref(lay), .line = line};
  return JK_OK;
}

static PangoLayout *layout_new(struct render *r, enum font f, const char *text, double width, PangoAlignment align,
                               bool justify) {
  PangoLayout *lay = pango_layout_new(r->ctx);
  pango_layout_set_font_description(lay, r->font[f]);
  if (width > 0) {
    pango_layout_set_width(lay, pango_units_from_double(width));
    pango_layout_set_wrap(lay, PANGO_WRAP_WORD_CHAR);
  }
  pango_layout_set_alignment(lay, align);
  pango_layout_set_justify(lay, justify);
  pango_layout_set_text(lay, text, -1);
  return lay;
}

static bool font_is_ours(struct render *r, PangoFont *f) {
  if (!f) return false;
  if (f == r->seen) return true;
  PangoFontDescription *d = pango_font_describe(f);
  const char *fam = d ? pango_font_description_get_family(d) : NULL;
  bool ok = fam && strcmp(fam, r->family) == 0;
  if (d) pango_font_description_free(d);
  if (ok) r->seen = f;
  return ok;
}

/* Every run of the layout set in IPAmj明朝 with real glyphs; else JK_EUNSUPPORTED naming the
 * first character it lacks. */
static jk_err check_glyphs(struct render *r, PangoLayout *lay) {
  const char *text = pango_layout_get_text(lay);
  PangoLayoutIter *it = pango_layout_get_iter(lay);
  const char *bad = NULL;
  do {
    PangoLayoutRun *run = pango_layout_iter_get_run_readonly(it);
    if (!run) continue;
    const char *s = text + run->item->offset, *end = s + run->item->length;
    if (!font_is_ours(r, run->item->analysis.font)) {
      /* a substituted run: name the first character our font does not have */
      for (bad = s; bad < end && pango_font_has_char(r->primary, g_utf8_get_char(bad)); bad = g_utf8_next_char(bad)) {}
      if (bad == end) bad = s;
    }
    for (int i = 0; !bad && i < run->glyphs->num_glyphs; i++)
      if (run->glyphs->glyphs[i].glyph & PANGO_GLYPH_UNKNOWN_FLAG) bad = s + run->glyphs->log_clusters[i];
  } while (!bad && pango_layout_iter_next_run(it));
  pango_layout_iter_free(it);
  if (!bad) return JK_OK;
  int n = (int)(g_utf8_next_char(bad) - bad);
  return jk_error_set(JK_EUNSUPPORTED, "letter: the font %s has no glyph for U+%04X (%.*s)", JK_LETTER_FONT,
                      (unsigned)g_utf8_get_char(bad), n, bad);
}

/* Start a new page unless h more points fit on this one (or it is still empty). */
static void room(struct render *r, double h) {
  if (r->y + h > BOTTOM && r->y > TOP) {
    r->page++;
    r->y = TOP;
  }
}

/* Vertical space, dropped at the top of a page. */
static void gap(struct render *r, double h) {
  if (r->y > TOP) r->y += h;
}

/* Running text, placed line by line so it breaks across pages between lines. keep: room to
 * leave below the first line (what a title or heading must stay with). */
static jk_err flow_text(struct render *r, enum font f, const char *text, PangoAlignment align, bool justify,
                        double keep) {
  PangoLayout *lay = layout_new(r, f, text, TEXT_W, align, justify);
  jk_err e = check_glyphs(r, lay);
  double pitch = PITCH * font_pt[f];
  PangoLayoutIter *it = pango_layout_get_iter(lay);
  bool first = true;
  do {
    PangoRectangle lg;
    pango_layout_iter_get_line_extents(it, NULL, &lg);
    double h = pango_units_to_double(lg.height);
    double ascent = pango_units_to_double(pango_layout_iter_get_baseline(it) - lg.y);
    double box = h > pitch ? h : pitch;
    room(r, box + (first ? keep : 0));
    if (!e)
      e = op_add(r, lay, pango_layout_iter_get_line_readonly(it), MARGIN + pango_units_to_double(lg.x),
                 r->y + (box - h) / 2 + ascent, 0, 0, false);
    r->y += box;
    first = false;
  } while (!e && pango_layout_iter_next_line(it));
  pango_layout_iter_free(it);
  g_object_unref(lay);
  return e;
}

/* Natural width of a cell (its longest line) and its minimum: the widest piece between two
 * line-break opportunities (Japanese breaks almost anywhere, 「。」 never starts a line). */
static void cell_widths(PangoLayout *lay, double *nat, double *min) {
  PangoRectangle lg;
  int nattrs;
  const PangoLogAttr *attrs = pango_layout_get_log_attrs_readonly(lay, &nattrs);
  const char *text = pango_layout_get_text(lay);
  pango_layout_get_extents(lay, NULL, &lg);
  *nat = pango_units_to_double(lg.width);
  *min = 0;
  PangoLayoutIter *it = pango_layout_get_iter(lay);
  PangoLayoutLine *line = NULL;
  int start = 0, index = 0;
  glong offset = 0;
  do {
    pango_layout_iter_get_cluster_extents(it, NULL, &lg);
    int i = pango_layout_iter_get_index(it);
    offset += g_utf8_pointer_to_offset(text + index, text + i); /* clusters go forward (LTR) */
    index = i;
    if (pango_layout_iter_get_line_readonly(it) != line || (offset < nattrs && attrs[offset].is_line_break)) {
      line = pango_layout_iter_get_line_readonly(it);
      start = lg.x;
    }
    double w = pango_units_to_double(lg.x + lg.width - start);
    if (w > *min) *min = w;
  } while (pango_layout_iter_next_cluster(it));
  pango_layout_iter_free(it);
}

/* Column widths (cell padding included) filling the text width. Columns whose natural width is
 * within their fair share of what is left keep it (a date never wraps); the others start from
 * their widest unbreakable piece and share the rest in proportion to how much more they would
 * need (roughly the HTML "auto" table layout). Spare width goes to every column pro rata. */
static jk_err column_widths(struct render *r, const struct block *b, double *w) {
  double nat[JK_LETTER_COLS_MAX] = {0}, min[JK_LETTER_COLS_MAX] = {0};
  bool fixed[JK_LETTER_COLS_MAX] = {0};
  size_t nc = b->ncols, open = nc;
  jk_err e = JK_OK;
  for (size_t c = 0; c < nc; c++) {
    for (size_t i = 0; i <= b->nrows && !e; i++) {
      PangoLayout *lay = layout_new(r, F_TABLE, b->cells[i * nc + c], -1, PANGO_ALIGN_LEFT, false);
      double n, m;
      if (!(e = check_glyphs(r, lay))) {
        cell_widths(lay, &n, &m);
        if (n > nat[c]) nat[c] = n;
        if (m > min[c]) min[c] = m;
      }
      g_object_unref(lay);
    }
    if (e) return e;
    nat[c] += 2 * PAD_X + 1;
    min[c] += 2 * PAD_X + 1;
    if (min[c] > nat[c]) min[c] = nat[c];
  }
  double left = TEXT_W;
  for (bool changed = true; changed && open;) {
    changed = false;
    double fair = left / (double)open;
    for (size_t c = 0; c < nc; c++)
      if (!fixed[c] && nat[c] <= fair) {
        w[c] = nat[c];
        left -= nat[c];
        fixed[c] = changed = true;
        open--;
      }
  }
  if (!open) { /* everything fits: stretch to the text width */
    for (size_t c = 0; c < nc; c++) w[c] = nat[c] * TEXT_W / (TEXT_W - left);
    return JK_OK;
  }
  double sum_min = 0, sum_more = 0;
  for (size_t c = 0; c < nc; c++)
    if (!fixed[c]) {
      sum_min += min[c];
      sum_more += nat[c] - min[c];
    }
  for (size_t c = 0; c < nc; c++) {
    if (fixed[c]) continue;
    if (sum_min >= left || sum_more <= 0) /* even the pieces do not fit: cells break inside words */
      w[c] = min[c] * left / sum_min;
    else
      w[c] = min[c] + (left - sum_min) * (nat[c] - min[c]) / sum_more;
  }
  return JK_OK;
}

/* Lay out one table row in lay[] (unref'd by row_free); *h gets its height, padding included. */
static void row_new(struct render *r, char *const *cells, size_t ncols, const double *w, PangoLayout **lay,
                    double *h) {
  *h = 0;
  for (size_t c = 0; c < ncols; c++) {
    PangoRectangle lg;
    lay[c] = layout_new(r, F_TABLE, cells[c], w[c] - 2 * PAD_X, PANGO_ALIGN_LEFT, false);
    pango_layout_set_line_spacing(lay[c], CELL_SPACING);
    pango_layout_get_extents(lay[c], NULL, &lg);
    if (pango_units_to_double(lg.height) + 2 * PAD_Y > *h) *h = pango_units_to_double(lg.height) + 2 * PAD_Y;
  }
}

static void row_free(PangoLayout **lay, size_t ncols) {
  for (size_t c = 0; c < ncols; c++)
    if (lay[c]) g_object_unref(lay[c]);
  memset(lay, 0, ncols * sizeof *lay);
}

static jk_err row_place(struct render *r, PangoLayout **lay, size_t ncols, const double *w, double h, bool head) {
  double x = MARGIN;
  jk_err e = JK_OK;
  for (size_t c = 0; c < ncols && !e; c++) {
    e = op_add(r, lay[c], NULL, x, r->y, w[c], h, head);
    x += w[c];
  }
  r->y += h;
  return e;
}

/* A table: the header row with the first row, then row by row, the header row again on each
 * new page. (Glyphs were checked cell by cell while measuring the columns.) */
static jk_err flow_table(struct render *r, const struct block *b) {
  double w[JK_LETTER_COLS_MAX], hh, rh;
  PangoLayout *head[JK_LETTER_COLS_MAX] = {0}, *row[JK_LETTER_COLS_MAX] = {0};
  jk_err e;
  if ((e = column_widths(r, b, w))) return e;
  row_new(r, b->cells, b->ncols, w, head, &hh);
  for (size_t i = 0; i <= b->nrows && !e; i++) {
    rh = 0;
    if (i < b->nrows) row_new(r, b->cells + (i + 1) * b->ncols, b->ncols, w, row, &rh);
    if (hh + rh > BOTTOM - TOP) {
      e = jk_error_set(JK_ETOOLARGE, "letter: table row %zu is taller than a page", i + 1);
    } else if (i == 0) { /* the header row starts the table together with the first row */
      room(r, hh + rh);
      e = row_place(r, head, b->ncols, w, hh, true);
    } else if (r->y + rh > BOTTOM) {
      room(r, rh);
      e = row_place(r, head, b->ncols, w, hh, true);
    }
    if (!e && i < b->nrows) e = row_place(r, row, b->ncols, w, rh, false);
    row_free(row, b->ncols);
  }
  row_free(head, b->ncols);
  return e;
}

/* Lay the letter out into r->ops. */
static jk_err flow(struct render *r, const jk_letter *l) {
  jk_err e = JK_OK;
  r->page = 0;
  r->y = TOP;
  for (size_t i = 0; i < l->n && !e; i++) {
    const struct block *b = &l->blocks[i];
    switch (b->kind) {
    case B_HEADER:
      if (b->s[0] && !(e = flow_text(r, F_BODY, b->s[0], PANGO_ALIGN_RIGHT, false, 0))) gap(r, BODY_PITCH);
      if (!e && b->s[1] && !(e = flow_text(r, F_TO, b->s[1], PANGO_ALIGN_LEFT, false, 0))) gap(r, BODY_PITCH);
      if (!e && b->s[2]) e = flow_text(r, F_BODY, b->s[2], PANGO_ALIGN_RIGHT, false, 0);
      gap(r, BODY_PITCH);
      break;
    case B_TITLE:
      gap(r, BODY_PITCH);
      if (!(e = flow_text(r, F_TITLE, b->s[0], PANGO_ALIGN_CENTER, false, 2 * BODY_PITCH))) gap(r, BODY_PITCH);
      break;
    case B_PARA:
      if (!(e = flow_text(r, F_BODY, b->s[0], PANGO_ALIGN_LEFT, true, 0))) gap(r, 0.4 * BODY_PITCH);
      break;
    case B_HEADING:
      gap(r, 0.6 * BODY_PITCH);
      if (!(e = flow_text(r, F_HEADING, b->s[0], PANGO_ALIGN_LEFT, false, 3 * BODY_PITCH))) gap(r, 0.2 * BODY_PITCH);
      break;
    case B_TABLE:
      gap(r, 0.3 * BODY_PITCH);
      if (!(e = flow_table(r, b))) gap(r, BODY_PITCH);
      break;
    }
  }
  return e;
}

static void footer(struct render *r, cairo_t *cr, int page, int npages) {
  char s[48];
  PangoRectangle lg;
  snprintf(s, sizeof s, "%d / %d", page + 1, npages);
  PangoLayout *lay = layout_new(r, F_FOOT, s, TEXT_W, PANGO_ALIGN_CENTER, false);
  pango_layout_get_extents(lay, NULL, &lg);
  cairo_move_to(cr, MARGIN, PAGE_H - MARGIN / 2 - pango_units_to_double(lg.height) / 2);
  pango_cairo_show_layout(cr, lay);
  g_object_unref(lay);
}

/* Draw the placed ops, page by page, with "n / N" under each. */
static void draw(struct render *r, cairo_t *cr) {
  int npages = r->page + 1;
  size_t i = 0;
  cairo_set_line_width(cr, RULE);
  for (int page = 0; page < npages; page++) {
    for (; i < r->nops && r->ops[i].page == page; i++) {
      const struct op *o = &r->ops[i];
      if (o->line) {
        cairo_move_to(cr, o->x, o->y);
        pango_cairo_show_layout_line(cr, o->line);
        continue;
      }
      cairo_rectangle(cr, o->x, o->y, o->w, o->h);
      if (o->head) {
        cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        cairo_fill_preserve(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
      }
      cairo_stroke(cr);
      cairo_move_to(cr, o->x + PAD_X, o->y + PAD_Y);
      pango_cairo_show_layout(cr, o->lay);
    }
    footer(r, cr, page, npages);
    cairo_show_page(cr);
  }
}

/* The font map, context and fonts; JK_EUNSUPPORTED when fontconfig has no IPAmj明朝. */
static jk_err render_open(struct render *r) {
  r->fm = pango_cairo_font_map_new();
  pango_cairo_font_map_set_resolution(PANGO_CAIRO_FONT_MAP(r->fm), 72.0); /* 1 pt = 1 unit */
  r->ctx = pango_font_map_create_context(r->fm);
  pango_cairo_context_set_resolution(r->ctx, 72.0);
  /* what a PDF surface uses, so shaping does not round metrics to a 72 dpi pixel grid */
  cairo_font_options_t *fo = cairo_font_options_create();
  cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
  cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
  pango_cairo_context_set_font_options(r->ctx, fo);
  cairo_font_options_destroy(fo);
  for (int f = 0; f < F_COUNT; f++) {
    r->font[f] = pango_font_description_new();
    pango_font_description_set_family_static(r->font[f], JK_LETTER_FONT);
    pango_font_description_set_size(r->font[f], (int)(font_pt[f] * PANGO_SCALE));
  }
  pango_font_description_set_weight(r->font[F_HEADING], PANGO_WEIGHT_BOLD);
  r->primary = pango_font_map_load_font(r->fm, r->ctx, r->font[F_BODY]);
  PangoFontDescription *d = r->primary ? pango_font_describe(r->primary) : NULL;
  const char *fam = d ? pango_font_description_get_family(d) : NULL;
  jk_err e = JK_OK;
  for (size_t i = 0; fam && !r->family && !e && i < sizeof font_names / sizeof font_names[0]; i++)
    if (strcasecmp(fam, font_names[i]) == 0 && !(r->family = jk_strdup(fam))) e = jk_error_set(JK_ENOMEM, NULL);
  if (d) pango_font_description_free(d);
  if (!e && !r->family)
    e = jk_error_set(JK_EUNSUPPORTED,
                     "letter: the font %s is not installed (Debian package fonts-ipamj-mincho); letters are never "
                     "printed in another font",
                     JK_LETTER_FONT);
  return e;
}

static void render_close(struct render *r) {
  for (size_t i = 0; i < r->nops; i++) g_object_unref(r->ops[i].lay);
  jk_free(r->ops);
  if (r->primary) g_object_unref(r->primary);
  for (int f = 0; f < F_COUNT; f++)
    if (r->font[f]) pango_font_description_free(r->font[f]);
  if (r->ctx) g_object_unref(r->ctx);
  if (r->fm) g_object_unref(r->fm);
  jk_free(r->family);
}

struct sink {
  int fd;
  int err; /* errno of the first failed write */
};

static cairo_status_t sink_write(void *closure, const unsigned char *data, unsigned int len) {
  struct sink *s = closure;
  while (len && !s->err) {
    ssize_t w = write(s->fd, data, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      s->err = w < 0 ? errno : EIO;
      break;
    }
    data += w;
    len -= (unsigned)w;
  }
  return s->err ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

/* The PDF of the laid-out letter into s->fd. */
static jk_err write_pdf(struct render *r, const jk_letter *l, struct sink *s, const char *path) {
  cairo_surface_t *surf = cairo_pdf_surface_create_for_stream(sink_write, s, PAGE_W, PAGE_H);
  cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_CREATOR, "jukinet");
  for (size_t i = 0; i < l->n; i++)
    if (l->blocks[i].kind == B_TITLE) {
      cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_TITLE, l->blocks[i].s[0]);
      break;
    }
  cairo_t *cr = cairo_create(surf);
  draw(r, cr);
  cairo_destroy(cr);
  cairo_surface_finish(surf);
  cairo_status_t st = cairo_surface_status(surf);
  cairo_surface_destroy(surf);
  if (s->err || st != CAIRO_STATUS_SUCCESS)
    return jk_error_set(JK_EIO, "cannot write %s: %s", path, s->err ? strerror(s->err) : cairo_status_to_string(st));
  return JK_OK;
}

/* fsync the directory holding path, so the rename survives a crash. */
static void sync_dir(const char *path) {
  const char *slash = strrchr(path, '/');
  char *dir = slash ? jk_strndup(path, slash == path ? 1 : (size_t)(slash - path)) : jk_strdup(".");
  int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
  jk_free(dir);
}

jk_err jk_letter_pdf(jk_letter *l, const char *path) {
  struct render r = {0};
  struct sink s = {.fd = -1};
  char *tmp = NULL;
  size_t n;
  jk_err e;
  if ((e = usable(l))) return e;
  if (!path || !*path) return jk_error_set(JK_EINVAL, "letter: no path to write to");
  /* everything that can be refused is refused before the file system is touched */
  if ((e = render_open(&r)) || (e = flow(&r, l))) goto out;
  n = strlen(path);
  if (!(tmp = jk_malloc(n + 8))) {
    e = jk_error_set(JK_ENOMEM, NULL);
    goto out;
  }
  memcpy(tmp, path, n);
  memcpy(tmp + n, ".XXXXXX", 8);
  if ((s.fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
    e = jk_error_set(JK_EIO, "cannot write %s: %s", path, strerror(errno));
    jk_free(tmp);
    tmp = NULL;
    goto out;
  }
  if ((e = write_pdf(&r, l, &s, path))) goto out;
  int rc = fsync(s.fd);
  if (close(s.fd) != 0) rc = -1;
  s.fd = -1;
  if (rc != 0 || rename(tmp, path) != 0) {
    e = jk_error_set(JK_EIO, "cannot write %s: %s", path, strerror(errno));
    goto out;
  }
  jk_free(tmp);
  tmp = NULL;
  sync_dir(path);
out:
  if (s.fd >= 0) close(s.fd);
  if (tmp) {
    unlink(tmp);
    jk_free(tmp);
  }
  render_close(&r);
  return e;
}
