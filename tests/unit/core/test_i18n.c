/*
 * The Japanese catalogue: every entry's translation uses the same printf conversions as its
 * key (else a translated message would print garbage or crash), and every English message the
 * sources pass to jk_error_set / jk_error_prefix / jk_tr / cli_out / cli_usage has an entry.
 */
#include "testutil.h"

#include <ctype.h>
#include <dirent.h>
#include <sys/stat.h>

/* The conversions of a format, in argument order (positional %N$ honoured): e.g. "s,zu,d". */
static void conversions(const char *fmt, char out[][8], int *n) {
  int seq = 0;
  *n = 0;
  char tmp[32][8];
  int pos[32];
  int cnt = 0;
  for (const char *p = fmt; *p; p++) {
    if (*p != '%') continue;
    p++;
    if (*p == '%') continue;
    int argno = 0;
    const char *q = p;
    while (isdigit((unsigned char)*q)) argno = argno * 10 + (*q++ - '0');
    if (*q == '$') p = q + 1;
    else argno = 0;
    while (*p && strchr("-+ #0'", *p)) p++;
    while (*p && (isdigit((unsigned char)*p) || *p == '.' || *p == '*')) p++;
    char conv[8] = "";
    size_t k = 0;
    while (*p && strchr("hlLqjzt", *p) && k < 4) conv[k++] = *p++;
    conv[k++] = *p;
    conv[k] = '\0';
    assert_true(cnt < 32);
    memcpy(tmp[cnt], conv, 8);
    pos[cnt] = argno ? argno : ++seq;
    cnt++;
  }
  for (int i = 0; i < cnt; i++) {
    assert_true(pos[i] >= 1 && pos[i] <= 32);
    memcpy(out[pos[i] - 1], tmp[i], 8);
    if (pos[i] > *n) *n = pos[i];
  }
}

extern const char *jk_tr(const char *en);

static void test_conversions_match(void **state) {
  (void)state;
  jk_lang_set(JK_LANG_JA);
  size_t count = jk_tr_count();
  assert_true(count > 50);
  for (size_t i = 0; i < count; i++) {
    const char *en = jk_tr_key(i), *ja = jk_tr(en);
    char a[32][8] = {{0}}, b[32][8] = {{0}};
    int na, nb;
    conversions(en, a, &na);
    conversions(ja, b, &nb);
    if (na != nb) fail_msg("'%s' has %d conversions, its translation %d", en, na, nb);
    for (int k = 0; k < na; k++)
      if (strcmp(a[k], b[k]) != 0) fail_msg("'%s': argument %d is %%%s but %%%s in Japanese", en, k + 1, a[k], b[k]);
  }
}

/* Collect string literals following the given call names in a C file and check each. */
static int missing;

static void check_file(const char *path) {
  static const char *const calls[] = {"jk_error_set(JK_", "jk_error_prefix(", "jk_tr(", "cli_out(", "cli_usage(",
                                      "JK_N_("};
  FILE *f = fopen(path, "r");
  if (!f) return;
  static char buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  for (size_t c = 0; c < sizeof calls / sizeof calls[0]; c++) {
    for (char *p = buf; (p = strstr(p, calls[c])); p++) {
      char *q = p + strlen(calls[c]);
      if (c == 0) { /* skip the error code argument */
        while (*q && *q != ',' && *q != ')') q++;
        if (*q != ',') continue;
        q++;
      }
      while (*q == ' ' || *q == '\n') q++;
      if (*q != '"') continue;
      /* join adjacent literals */
      char lit[2048];
      size_t L = 0;
      while (*q == '"') {
        q++;
        while (*q && *q != '"') {
          if (*q == '\\' && q[1]) {
            char e = q[1];
            char ch = e == 'n' ? '\n' : e == 't' ? '\t' : e;
            if (L < sizeof lit - 1) lit[L++] = ch;
            q += 2;
            continue;
          }
          if (L < sizeof lit - 1) lit[L++] = *q;
          q++;
        }
        if (*q == '"') q++;
        while (*q == ' ' || *q == '\n') q++;
      }
      lit[L] = '\0';
      /* text without letters needs no translation */
      bool letters = false;
      for (size_t k = 0; k < L; k++)
        if (isalpha((unsigned char)lit[k]) && !(k > 0 && lit[k - 1] == '%')) letters = true;
      if (!letters) continue;
      jk_lang_set(JK_LANG_JA);
      if (jk_tr(lit) == lit || strcmp(jk_tr(lit), lit) == 0) {
        bool same_ok = strstr(lit, "%s: ") == lit; /* pure prefixes */
        if (!same_ok && jk_tr(lit) == lit) {
          fprintf(stderr, "%s: no Japanese for \"%s\"\n", path, lit);
          missing++;
        }
      }
    }
  }
}

static void walk(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  if (!d) return;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    struct stat st;
    if (stat(path, &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) walk(path);
    else if (strlen(e->d_name) > 2 && strcmp(e->d_name + strlen(e->d_name) - 2, ".c") == 0) check_file(path);
  }
  closedir(d);
}

static void test_every_message_translated(void **state) {
  (void)state;
  missing = 0;
  walk(JK_SOURCE_DIR "/src");
  walk(JK_SOURCE_DIR "/cmd");
  if (missing) fail_msg("%d messages lack a Japanese translation (see above)", missing);
}

static void test_lang_parse(void **state) {
  (void)state;
  assert_int_equal(jk_lang_parse("ja_JP.UTF-8"), JK_LANG_JA);
  assert_int_equal(jk_lang_parse("en_US.UTF-8"), JK_LANG_EN);
  assert_int_equal(jk_lang_parse("en"), JK_LANG_EN);
  assert_int_equal(jk_lang_parse("fr"), -1);
  jk_lang_set(JK_LANG_JA);
  assert_string_equal(jk_err_str(JK_ENOTFOUND), "見つかりません");
  jk_lang_set(JK_LANG_EN);
  assert_string_equal(jk_err_str(JK_ENOTFOUND), "not found");
  assert_string_equal(jk_err_name(JK_ECONFLICT), "CONFLICT");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conversions_match),
      cmocka_unit_test(test_every_message_translated),
      cmocka_unit_test(test_lang_parse),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
