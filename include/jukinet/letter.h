/*
 * letter.h — printable letters to residents (issue 5): the reply to a non-participation notice
 * (本人確認情報の提供に関する申出への回答), the disclosure letter (本人確認情報の開示) with its
 * table of provisions. This is the rendering layer only: the caller composes the content.
 *
 * A letter is a list of blocks, appended in reading order, then rendered to an A4 PDF (20 mm
 * margins, page numbers "n / N", automatic page breaks; a table may span pages and repeats its
 * header row) or to plain UTF-8 text. The PDF is set in IPAmj明朝 only — the font made for the
 * characters of 住民基本台帳 names (異体字 such as 髙 and 﨑): when the font is not installed, or
 * lacks a character of the letter, rendering fails; it never substitutes another font.
 *
 * Text is UTF-8 (NFC is the caller's business); "\n" breaks a line, any other control
 * character is refused. A block call that fails leaves its letter poisoned: jk_letter_pdf and
 * jk_letter_text then fail with the same code, so a letter never goes out with a block missing.
 * Not thread-safe per letter; separate letters may be built and rendered on separate threads.
 */
#ifndef JUKINET_LETTER_H
#define JUKINET_LETTER_H

#include "jukinet/common.h"
#include "jukinet/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define JK_LETTER_FONT "IPAmj明朝"               /* fontconfig family; Debian fonts-ipamj-mincho */
#define JK_LETTER_TEXT_MAX (8u * 1024 * 1024)     /* bytes of text in one letter */
#define JK_LETTER_COLS_MAX 16                     /* columns of a table */

/* A letter being composed. */
typedef struct jk_letter jk_letter;

/* A new, empty letter; caller frees with jk_letter_free. JK_ENOMEM. */
JK_API jk_err jk_letter_new(jk_letter **out);
/* NULL is a no-op. */
JK_API void jk_letter_free(jk_letter *l);

/* ---- blocks, in reading order. Every string is copied; errors: JK_EINVAL (NULL where text is
 * required, invalid UTF-8 with its byte offset, a control character), JK_ETOOLARGE (past
 * JK_LETTER_TEXT_MAX), JK_ENOMEM. ---- */

/* The letterhead: date_line at the top right, the addressee on the left (the caller writes
 * "様"), the sender on the right. Any of the three may be NULL to leave it out. */
JK_API jk_err jk_letter_header(jk_letter *l, const char *date_line, const char *to, const char *from);
/* The title, centred and larger. */
JK_API jk_err jk_letter_title(jk_letter *l, const char *title);
/* A paragraph, wrapped to the text width and justified (Japanese line-breaking rules). */
JK_API jk_err jk_letter_para(jk_letter *l, const char *text);
/* A section heading (larger, bold), kept on the page of what follows it. */
JK_API jk_err jk_letter_heading(jk_letter *l, const char *text);
/* A ruled table: head has ncols strings, cells nrows * ncols in row order (NULL cell = empty;
 * nrows may be 0). Column widths follow the content, cells wrap, the header row is repeated on
 * every page. 1 <= ncols <= JK_LETTER_COLS_MAX. A row taller than a page is refused by
 * jk_letter_pdf (JK_ETOOLARGE): rows are never split. */
JK_API jk_err jk_letter_table(jk_letter *l, size_t ncols, const char *const *head, const char *const *cells,
                              size_t nrows);

/* ---- output ---- */

/* Render to a PDF at path: written to a temporary file beside it, fsynced and renamed, so path
 * holds either the old file or the whole new letter (mode 0600: letters carry personal data).
 * The text is embedded as text (searchable, pdftotext reads it back).
 * Errors: the poisoning code; JK_EUNSUPPORTED when IPAmj明朝 is not installed (the detail names
 * the package fonts-ipamj-mincho) or has no glyph for a character (the detail gives U+XXXX);
 * JK_ETOOLARGE (a table row taller than a page); JK_EIO (the file: nothing is left behind). */
JK_API jk_err jk_letter_pdf(jk_letter *l, const char *path);

/* The same letter as plain UTF-8 text: the letterhead lines, title, headings and paragraphs
 * separated by blank lines, tables as tab-separated lines (a "\n" inside a cell becomes a
 * space). *out is NUL-terminated, caller frees with jk_free; *len (may be NULL) gets its length.
 * Errors: the poisoning code, JK_ENOMEM. */
JK_API jk_err jk_letter_text(jk_letter *l, char **out, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
