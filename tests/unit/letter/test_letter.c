/* Letters to residents (letter.h): a letter of several pages with a long table renders to a PDF
 * whose text reads back (pdftotext, when installed) with its 異体字 intact; bad text is refused
 * and poisons the letter; a character IPAmj明朝 lacks, or the font itself missing, is refused
 * rather than printed in another font; nothing is left behind on failure. */
#include "testutil.h"

#include "jukinet/letter.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define ROWS 120

/* LeakSanitizer (build-asan): fontconfig 2.14 leaks 288 bytes once while it parses its XML
 * configuration, in FcInitLoadConfigAndFonts, which pango runs on a thread of its own the first
 * time a font map is made. Not ours and not per letter (the count stays the same however many
 * letters are rendered), so it is suppressed here, for this stack only. */
__attribute__((visibility("default"))) const char *__lsan_default_suppressions(void);
__attribute__((visibility("default"))) const char *__lsan_default_suppressions(void) {
  return "leak:libfontconfig.so\n";
}

static int setup(void **state) {
  (void)state;
  jk_lang_set(JK_LANG_EN);
  return 0;
}

static const char *const head4[4] = {"提供日", "提供先", "利用目的", "提供項目"};

/* The disclosure letter of the test: letterhead, title, paragraphs, a heading and a ROWS-row
 * table (the last row's date is "第120回"). Cells are freed by the caller (cells_free). */
static char **cells_new(void) {
  char **c = calloc(ROWS * 4, sizeof *c);
  assert_non_null(c);
  for (int i = 0; i < ROWS; i++) {
    char d[32];
    snprintf(d, sizeof d, "第%d回", i + 1);
    c[i * 4] = strdup(d);
    c[i * 4 + 1] = strdup(i % 3 ? "地方公共団体情報システム機構" : "厚生労働省");
    c[i * 4 + 2] = strdup(i % 2 ? "国民年金法による年金である給付の支給に関する事務"
                                : "雇用保険法による失業等給付の支給に関する事務\n（別表第一 七十七の項）");
    c[i * 4 + 3] = strdup("氏名、生年月日、性別、住所");
  }
  return c;
}

static void cells_free(char **c) {
  for (int i = 0; i < ROWS * 4; i++) free(c[i]);
  free(c);
}

#define LONG_PARA                                                                                             \
  "　令和8年10月1日付けで請求のあった本人確認情報の開示について、住民基本台帳法第30条の32第1項の規定により、" \
  "下記のとおり開示します。この通知に記載された内容に誤りがあると思われる場合は、同法第30条の35の規定により" \
  "訂正の申出をすることができます。ご不明な点は、市民課住民基本台帳担当（電話 072-000-0000）までお問い合わせ" \
  "ください。"

static jk_err build(jk_letter *l, char **cells) {
  jk_err e;
  if ((e = jk_letter_header(l, "令和8年11月23日", "髙橋 﨑子 様", "枚方市長\n伏見 隆"))) return e;
  if ((e = jk_letter_title(l, "本人確認情報の開示について"))) return e;
  for (int i = 0; i < 3; i++)
    if ((e = jk_letter_para(l, LONG_PARA))) return e;
  if ((e = jk_letter_heading(l, "1　本人確認情報の提供の状況"))) return e;
  if ((e = jk_letter_table(l, 4, head4, (const char *const *)cells, ROWS))) return e;
  return jk_letter_para(l, "以上");
}

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0, k;
  char *buf = malloc(cap + 1);
  assert_non_null(buf);
  while ((k = fread(buf + n, 1, cap - n, f)) > 0) {
    n += k;
    if (n == cap) {
      cap *= 2;
      buf = realloc(buf, cap + 1);
      assert_non_null(buf);
    }
  }
  fclose(f);
  buf[n] = '\0';
  *len = n;
  return buf;
}

static size_t count(const char *hay, size_t n, const char *needle) {
  size_t c = 0, k = strlen(needle);
  for (const char *p = hay; (p = memmem(p, n - (size_t)(p - hay), needle, k)); p += k) c++;
  return c;
}

/* Files left in dir (a temporary file would show up here). */
static int entries(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;
  assert_non_null(d);
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}

static bool have_pdftotext(void) { return system("command -v pdftotext >/dev/null 2>&1") == 0; }

/* pdftotext's UTF-8 text of the PDF (pages separated by form feeds); caller frees. */
static char *pdf_text(const char *pdf) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "pdftotext -enc UTF-8 '%s' - 2>/dev/null", pdf);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t cap = 1 << 16, n = 0, k;
  char *buf = malloc(cap + 1);
  assert_non_null(buf);
  while ((k = fread(buf + n, 1, cap - n, p)) > 0) {
    n += k;
    if (n == cap) {
      cap *= 2;
      buf = realloc(buf, cap + 1);
      assert_non_null(buf);
    }
  }
  assert_int_equal(pclose(p), 0);
  buf[n] = '\0';
  return buf;
}

static void test_pdf(void **state) {
  (void)state;
  char *dir = tu_tmpdir(), path[512];
  char **cells = cells_new();
  jk_letter *l;
  snprintf(path, sizeof path, "%s/開示.pdf", dir);
  assert_int_equal(jk_letter_new(&l), JK_OK);
  assert_int_equal(build(l, cells), JK_OK);
  assert_int_equal(jk_letter_pdf(l, path), JK_OK);
  assert_int_equal(entries(dir), 1); /* no temporary file left */

  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600); /* personal data */
  size_t len = 0;
  char *pdf = read_all(path, &len);
  assert_non_null(pdf);
  assert_true(len > 1000);
  assert_memory_equal(pdf, "%PDF-", 5);
  /* page objects: "/Type /Page" but not "/Type /Pages" (cairo 1.16 writes them uncompressed) */
  size_t pages = count(pdf, len, "/Type /Page") - count(pdf, len, "/Type /Pages");
  assert_non_null(memmem(pdf, len, "/FontFile2", 10)); /* the font is embedded */
  free(pdf);

  if (have_pdftotext()) {
    char *text = pdf_text(path);
    size_t tl = strlen(text);
    size_t ff = count(text, tl, "\f"); /* one form feed after each page */
    if (pages == 0) pages = ff;       /* object streams (newer cairo) hide the page objects */
    assert_int_equal(ff, pages);
    assert_non_null(strstr(text, "本人確認情報の開示について"));
    assert_non_null(strstr(text, "髙橋"));
    assert_non_null(strstr(text, "﨑子")); /* U+FA11, a compatibility ideograph NFC keeps */
    assert_null(strstr(text, "高橋")); /* never the common form */
    /* the text joined over line breaks and spaces */
    char *joined = strdup(text);
    assert_non_null(joined);
    size_t j = 0;
    for (size_t i = 0; i < tl; i++)
      if (text[i] != '\n' && text[i] != ' ') joined[j++] = text[i];
    joined[j] = '\0';
    assert_non_null(strstr(joined, "住民基本台帳法第30条の32第1項の規定により、下記のとおり開示します。"));
    assert_non_null(strstr(text, "第1回"));
    assert_non_null(strstr(text, "第120回"));
    assert_non_null(strstr(text, "以上"));
    /* the header row on every page of the table (it starts on page 1) */
    assert_int_equal(count(text, tl, "提供日"), pages);
    /* the footers (pdftotext may drop the spaces of "n / N") */
    char foot[32];
    snprintf(foot, sizeof foot, "1/%zu", pages);
    assert_non_null(strstr(joined, foot));
    snprintf(foot, sizeof foot, "%zu/%zu", pages, pages);
    assert_non_null(strstr(joined, foot));
    free(joined);
    free(text);
  } else {
    fprintf(stderr, "note: pdftotext not installed (poppler-utils): text of the PDF not checked\n");
  }
  assert_true(pages > 1);

  /* rendering again replaces the file whole */
  assert_int_equal(jk_letter_pdf(l, path), JK_OK);
  assert_int_equal(entries(dir), 1);

  jk_letter_free(l);
  cells_free(cells);
  tu_rmdir(dir);
}

static void test_text(void **state) {
  (void)state;
  jk_letter *l;
  char *s;
  size_t n;
  const char *head[2] = {"提供日", "提供先"};
  const char *cells[4] = {"2026-01-05", "厚生労働省", "2026-02-10", "地方公共団体\n情報システム機構"};
  assert_int_equal(jk_letter_new(&l), JK_OK);
  assert_int_equal(jk_letter_text(l, &s, &n), JK_OK); /* empty letter */
  assert_string_equal(s, "");
  assert_int_equal(n, 0);
  jk_free(s);
  assert_int_equal(jk_letter_header(l, "令和8年11月23日", "髙橋 﨑子 様", NULL), JK_OK);
  assert_int_equal(jk_letter_title(l, "本人確認情報の開示について"), JK_OK);
  assert_int_equal(jk_letter_para(l, "下記のとおり開示します。\n二行目です。"), JK_OK);
  assert_int_equal(jk_letter_heading(l, "提供の状況"), JK_OK);
  assert_int_equal(jk_letter_table(l, 2, head, cells, 2), JK_OK);
  assert_int_equal(jk_letter_text(l, &s, &n), JK_OK);
  assert_string_equal(s, "令和8年11月23日\n髙橋 﨑子 様\n"
                         "\n本人確認情報の開示について\n"
                         "\n下記のとおり開示します。\n二行目です。\n"
                         "\n提供の状況\n"
                         "\n提供日\t提供先\n2026-01-05\t厚生労働省\n2026-02-10\t地方公共団体 情報システム機構\n");
  assert_int_equal(n, strlen(s));
  jk_free(s);
  jk_letter_free(l);
  jk_letter_free(NULL);
}

static void test_refused(void **state) {
  (void)state;
  char *dir = tu_tmpdir(), path[512];
  jk_letter *l;
  char *s = (char *)"x";
  snprintf(path, sizeof path, "%s/x.pdf", dir);

  /* invalid UTF-8: refused with its offset, and the letter can no longer go out */
  assert_int_equal(jk_letter_new(&l), JK_OK);
  assert_int_equal(jk_letter_title(l, "開示"), JK_OK);
  assert_int_equal(jk_letter_para(l, "本文\xe3\x81"), JK_EINVAL);
  assert_error_contains("invalid UTF-8 at byte 6");
  assert_int_equal(jk_letter_para(l, "正しい本文"), JK_EINVAL);
  assert_error_contains("earlier block was refused");
  assert_int_equal(jk_letter_pdf(l, path), JK_EINVAL);
  assert_int_equal(jk_letter_text(l, &s, NULL), JK_EINVAL);
  assert_null(s);
  assert_int_equal(entries(dir), 0); /* nothing written */
  jk_letter_free(l);

  /* control characters: C0 but "\n", DEL, C1 */
  static const char *const bad[] = {"a\tb", "a\rb", "a\x7f", "a\xc2\x85"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(jk_letter_new(&l), JK_OK);
    assert_int_equal(jk_letter_heading(l, bad[i]), JK_EINVAL);
    assert_error_contains("control character");
    jk_letter_free(l);
  }
  assert_int_equal(jk_letter_new(&l), JK_OK);
  assert_int_equal(jk_letter_header(l, "令和8年", "\xff", NULL), JK_EINVAL);
  assert_error_contains("the addressee");
  jk_letter_free(l);

  /* tables: the cell is named; shape checked */
  const char *head[2] = {"a", "b"};
  const char *cells[4] = {"1", "2", "3", "\xc0\xaf"}; /* an overlong "/" */
  assert_int_equal(jk_letter_new(&l), JK_OK);
  assert_int_equal(jk_letter_table(l, 2, head, cells, 2), JK_EINVAL);
  assert_error_contains("row 2, column 2");
  jk_letter_free(l);
  assert_int_equal(jk_letter_new(&l), JK_OK);
  assert_int_equal(jk_letter_table(l, 0, head, cells, 1), JK_EINVAL);
  jk_letter_free(l);
  assert_int_equal(jk_letter_new(&l), JK_OK);
  assert_int_equal(jk_letter_table(l, JK_LETTER_COLS_MAX + 1, head, cells, 1), JK_EINVAL);
  jk_letter_free(l);
  assert_int_equal(jk_letter_new(&l), JK_OK);
  assert_int_equal(jk_letter_title(l, NULL), JK_EINVAL);
  jk_letter_free(l);
  assert_int_equal(jk_letter_para(NULL, "x"), JK_EINVAL);

  /* a NULL cell is empty; a table of only its header row renders */
  const char *sparse[2] = {"1", NULL};
  assert_int_equal(jk_letter_new(&l), JK_OK);
  assert_int_equal(jk_letter_table(l, 2, head, sparse, 1), JK_OK);
  assert_int_equal(jk_letter_table(l, 2, head, NULL, 0), JK_OK);
  assert_int_equal(jk_letter_text(l, &s, NULL), JK_OK);
  assert_string_equal(s, "a\tb\n1\t\n\na\tb\n");
  jk_free(s);
  assert_int_equal(jk_letter_pdf(l, path), JK_OK);
  assert_int_equal(unlink(path), 0);

  /* a directory that does not exist: JK_EIO, nothing anywhere */
  char missing[600];
  snprintf(missing, sizeof missing, "%s/no/such/dir.pdf", dir);
  assert_int_equal(jk_letter_pdf(l, missing), JK_EIO);
  assert_int_equal(jk_letter_pdf(l, ""), JK_EINVAL);
  assert_int_equal(entries(dir), 0);
  jk_letter_free(l);
  tu_rmdir(dir);
}

/* A character IPAmj明朝 does not have is refused, never drawn in a substitute font. */
static void test_missing_glyph(void **state) {
  (void)state;
  char *dir = tu_tmpdir(), path[512];
  jk_letter *l;
  snprintf(path, sizeof path, "%s/x.pdf", dir);
  static const char *const texts[] = {"山田 😀 太郎", "김 민준"};
  static const char *const cps[] = {"U+1F600", "U+AE40"};
  for (size_t i = 0; i < 2; i++) {
    assert_int_equal(jk_letter_new(&l), JK_OK);
    assert_int_equal(jk_letter_para(l, "本文"), JK_OK);
    const char *cell[1] = {texts[i]};
    if (i == 0)
      assert_int_equal(jk_letter_para(l, texts[i]), JK_OK);
    else
      assert_int_equal(jk_letter_table(l, 1, (const char *[]){"氏名"}, cell, 1), JK_OK);
    assert_int_equal(jk_letter_pdf(l, path), JK_EUNSUPPORTED);
    assert_error_contains(cps[i]);
    assert_int_equal(entries(dir), 0);
    jk_letter_free(l);
  }
  tu_rmdir(dir);
}

static void test_row_too_tall(void **state) {
  (void)state;
  char *dir = tu_tmpdir(), path[512], tall[1024] = "";
  jk_letter *l;
  snprintf(path, sizeof path, "%s/x.pdf", dir);
  for (size_t i = 0, k = strlen("行\n"); i < 150; i++) memcpy(tall + i * k, "行\n", k + 1);
  const char *cells[2] = {"短い", tall};
  assert_int_equal(jk_letter_new(&l), JK_OK);
  assert_int_equal(jk_letter_table(l, 2, (const char *[]){"a", "b"}, cells, 1), JK_OK);
  assert_int_equal(jk_letter_pdf(l, path), JK_ETOOLARGE);
  assert_error_contains("row 1 is taller than a page");
  assert_int_equal(entries(dir), 0);
  jk_letter_free(l);
  tu_rmdir(dir);
}

/* Fail every allocation of ours in turn: each failure is JK_ENOMEM, nothing leaks (ASan). */
static void test_alloc_failures(void **state) {
  (void)state;
  char *dir = tu_tmpdir(), path[512];
  snprintf(path, sizeof path, "%s/x.pdf", dir);
  const char *cells[2] = {"2026-01-05", "厚生労働省"};
  for (unsigned long nth = 1;; nth++) {
    jk_letter *l = NULL;
    char *s = NULL;
    jk_alloc_fail_at(nth);
    jk_err e = jk_letter_new(&l);
    if (!e) e = jk_letter_header(l, "令和8年11月23日", "髙橋 様", "枚方市長");
    if (!e) e = jk_letter_title(l, "開示");
    if (!e) e = jk_letter_para(l, LONG_PARA);
    if (!e) e = jk_letter_table(l, 2, (const char *[]){"日", "先"}, cells, 1);
    if (!e) e = jk_letter_text(l, &s, NULL);
    if (!e) e = jk_letter_pdf(l, path);
    jk_alloc_fail_at(0);
    jk_free(s);
    jk_letter_free(l);
    if (!e) break;
    assert_int_equal(e, JK_ENOMEM);
    assert_int_equal(entries(dir), 0);
    assert_true(nth < 1000);
  }
  tu_rmdir(dir);
}

/* IPAmj明朝 missing: a child process of this test sees a fontconfig with DejaVu only (or no font
 * at all) and must refuse, naming the package, instead of printing in the substitute. */
static int no_font_child(const char *path) {
  jk_letter *l;
  jk_lang_set(JK_LANG_EN);
  if (jk_letter_new(&l) || jk_letter_para(l, "髙橋")) return 100;
  jk_err e = jk_letter_pdf(l, path);
  printf("%s\n", jk_error_last());
  jk_letter_free(l);
  return -e;
}

static void test_no_font(void **state) {
  (void)state;
  char *dir = tu_tmpdir(), conf[512], exe[512], cmd[2048], out[1024] = "";
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  assert_true(n > 0);
  exe[n] = '\0';
  snprintf(conf, sizeof conf, "%s/fonts.conf", dir);
  FILE *f = fopen(conf, "w");
  assert_non_null(f);
  fprintf(f, "<?xml version=\"1.0\"?>\n<fontconfig>\n  <dir>/usr/share/fonts/truetype/dejavu</dir>\n"
             "  <cachedir>%s/cache</cachedir>\n</fontconfig>\n", dir);
  fclose(f);
  snprintf(cmd, sizeof cmd, "FONTCONFIG_FILE='%s' '%s' --no-font-child '%s/x.pdf'", conf, exe, dir);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t k = fread(out, 1, sizeof out - 1, p);
  out[k] = '\0';
  int st = pclose(p);
  assert_true(WIFEXITED(st));
  if (!strstr(out, "fonts-ipamj-mincho")) fail_msg("child said: %s", out);
  assert_int_equal(WEXITSTATUS(st), -JK_EUNSUPPORTED);
  assert_null(strstr(out, "glyph"));
  char pdf[600];
  snprintf(pdf, sizeof pdf, "%s/x.pdf", dir);
  assert_int_not_equal(access(pdf, F_OK), 0);
  tu_rmdir(dir);
}

int main(int argc, char **argv) {
  /* GLib 2.74 keeps pango's objects in slabs of its slice allocator, where LeakSanitizer cannot
   * see a leaked one; G_SLICE is read before main runs, so start again with it set. */
  if (!getenv("G_SLICE") && setenv("G_SLICE", "always-malloc", 1) == 0) execv("/proc/self/exe", argv);
  if (argc == 3 && strcmp(argv[1], "--no-font-child") == 0) return no_font_child(argv[2]);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pdf),
      cmocka_unit_test(test_text),
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_missing_glyph),
      cmocka_unit_test(test_row_too_tall),
      cmocka_unit_test(test_alloc_failures),
      cmocka_unit_test(test_no_font),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
