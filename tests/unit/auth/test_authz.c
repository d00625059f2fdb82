/*
 * test_authz.c — the permission table (data/permissions.tsv) and the rules around it:
 * the table parses; every action the code checks is in it (an action missing from the table
 * would be refused to everyone); roles match exactly; password rules (REQ-ACCESS-12).
 * Login, cards, lockout and refusals end to end: tests/cli/test_auth.sh (real SoftHSM2 cards).
 */
#include "testutil.h"

#include "auth/auth_int.h"
#include "jukinet/store.h"

#include <dirent.h>
#include <sodium.h>

#define JK_STOREFX_NO_FIXTURE
#include "storefx.h" /* SQLite, or PostgreSQL with JK_TEST_STORE */

static void test_table_parses(void **state) {
  (void)state;
  const char *action, *roles, *desc;
  bool needs;
  size_t n = 0;
  while (jk_auth_permission_at(n, &action, &roles, &needs, &desc)) {
    assert_true(strlen(action) > 0);
    assert_true(strlen(desc) > 0);
    n++;
  }
  assert_true(n >= 30);
  assert_int_equal(jk_auth_permission("resident.show", &roles, &needs), JK_OK);
  assert_true(needs); /* REQ-ASSET-15: 本人確認情報 needs the designation */
  assert_non_null(strstr(roles, "operator"));
  assert_int_equal(jk_auth_permission("designation.grant", &roles, &needs), JK_OK);
  assert_string_equal(roles, "identity_manager"); /* only the 本人確認情報管理責任者 designates */
  assert_int_equal(jk_auth_permission("card.enrol", &roles, &needs), JK_OK);
  assert_string_equal(roles, "access_manager"); /* art. 13: the card ledger */
  assert_int_equal(jk_auth_permission("no.such.action", &roles, &needs), JK_ENOTFOUND);
}

/* Every action literal handed to jk_auth_begin / cli_op_begin in src/ and cmd/ is in the table. */
static void scan_file(const char *path, int *checked) {
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char line[4096];
  static const char *const calls[] = {"jk_auth_begin(", "cli_op_begin(", "jk__auth_record("};
  while (fgets(line, sizeof line, f)) {
    for (size_t c = 0; c < sizeof calls / sizeof *calls; c++) {
      char *p = strstr(line, calls[c]);
      if (!p) continue;
      /* the first string literal in the call that looks like an action "noun.verb" */
      for (char *q = strchr(p, '"'); q; q = strchr(q + 1, '"')) {
        char *end = strchr(q + 1, '"');
        if (!end) break;
        size_t len = (size_t)(end - q - 1);
        char act[64];
        if (len == 0 || len >= sizeof act) {
          q = end;
          continue;
        }
        memcpy(act, q + 1, len);
        act[len] = '\0';
        q = end;
        if (!strchr(act, '.') || strchr(act, ' ') || strchr(act, '%') || strchr(act, ':')) continue;
        const char *roles;
        bool needs;
        /* session.resume, login and login.lockout are recorded outcomes, not permissions */
        if (strcmp(act, "session.resume") != 0 && strcmp(act, "login") != 0 && strcmp(act, "login.lockout") != 0 &&
            jk_auth_permission(act, &roles, &needs) != JK_OK)
          fail_msg("%s uses action %s, which data/permissions.tsv does not list", path, act);
        (*checked)++;
      }
    }
  }
  fclose(f);
}

static void scan_dir(const char *dir, int *checked) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t n = strlen(e->d_name);
    if (n < 3 || strcmp(e->d_name + n - 2, ".c") != 0) continue;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    scan_file(path, checked);
  }
  closedir(d);
}

static void test_every_action_is_listed(void **state) {
  (void)state;
  int checked = 0;
  scan_dir(JK_SOURCE_DIR "/src/auth", &checked);
  scan_dir(JK_SOURCE_DIR "/cmd/jukinet", &checked);
  assert_true(checked >= 20);
  /* the card events are formatted ("card.%s") */
  const char *roles;
  bool needs;
  static const char *const events[] = {"card.lend", "card.return", "card.lost", "card.revoke", "card.replace"};
  for (size_t i = 0; i < sizeof events / sizeof *events; i++)
    assert_int_equal(jk_auth_permission(events[i], &roles, &needs), JK_OK);
}

static void test_roles_match(void **state) {
  (void)state;
  char m[32];
  assert_true(jk__auth_roles_match("operator", "operator,security_officer", m));
  assert_string_equal(m, "operator");
  assert_true(jk__auth_roles_match("auditor,system_admin", "security_chief,system_admin", m));
  assert_string_equal(m, "system_admin");
  /* a prefix or suffix of a role is not the role */
  assert_false(jk__auth_roles_match("operator", "operators,security_officer", m));
  assert_false(jk__auth_roles_match("chief", "security_chief", m));
  assert_false(jk__auth_roles_match("", "operator", m));
  /* the designation is not a role */
  assert_false(jk__auth_roles_match("handler", "operator", m));
  assert_true(jk__auth_roles_match("", "*", m));
  assert_string_equal(m, "-");
  assert_true(jk__auth_roles_match("auditor", "*", m));
  assert_string_equal(m, "auditor");
  assert_true(jk_auth_role_valid("identity_manager"));
  assert_false(jk_auth_role_valid("root"));
  assert_string_equal(jk_auth_role_name_ja("access_manager"), "アクセス管理責任者");
}

static void test_password_rules(void **state) {
  (void)state;
  tu_store t;
  jk_store *s;
  tu_store_new(&t);
  assert_int_equal(jk_store_open(&s, t.location, JK_STORE_CREATE), JK_OK);
  jk_lang_set(JK_LANG_EN);
  jk_auth_policy p = {12, 2, 90, 5, 30, 15};
  assert_int_equal(jk__password_check_policy(s, &p, 0, "short1", 6), JK_EINVAL);
  assert_error_contains("at least 12");
  assert_int_equal(jk__password_check_policy(s, &p, 0, "abcdefghijklmn", 14), JK_EINVAL); /* one kind */
  assert_int_equal(jk__password_check_policy(s, &p, 0, "abcdefghijk1", 12), JK_OK);
  /* length counts characters, not bytes: 12 kana + a digit */
  const char *kana = "あいうえおかきくけこさ1";
  assert_int_equal(jk__password_check_policy(s, &p, 0, kana, strlen(kana)), JK_OK);
  assert_int_equal(jk__password_check_policy(s, &p, 0, "あいう1", strlen("あいう1")), JK_EINVAL);
  assert_int_equal(jk__password_check_policy(s, &p, 0, "abc\xff\xfe""defghij1", 13), JK_EINVAL);
  /* reuse of the last `history` passwords is refused (an operator row is needed) */
  jk_operator_rec op = {0};
  snprintf(op.staff_id, sizeof op.staff_id, "a1");
  snprintf(op.name, sizeof op.name, "A");
  snprintf(op.department, sizeof op.department, "D");
  snprintf(op.created_at, sizeof op.created_at, "2026-11-23T00:00:00Z");
  snprintf(op.created_by, sizeof op.created_by, "-");
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_operator_insert(s, &op), JK_OK);
  assert_int_equal(jk__password_store(s, op.id, "first-pass-01", 13, "-"), JK_OK);
  assert_int_equal(jk__password_store(s, op.id, "second-pass-02", 14, "-"), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);
  assert_int_equal(jk__password_check_policy(s, &p, op.id, "first-pass-01", 13), JK_EINVAL);
  assert_error_contains("used recently");
  assert_int_equal(jk__password_check_policy(s, &p, op.id, "third-pass-03", 13), JK_OK);
  /* verify: current only; the stored hash is Argon2id and never the password */
  bool expired = true;
  assert_int_equal(jk__password_verify(s, &p, op.id, "second-pass-02", 14, &expired), JK_OK);
  assert_false(expired);
  assert_int_equal(jk__password_verify(s, &p, op.id, "first-pass-01", 13, &expired), JK_EAUTH);
  assert_null(strstr(jk_error_last(), "first-pass"));
  /* expiry: max age 0 = never; a password set long ago is expired */
  jk_auth_policy q = p;
  q.max_age_days = 1;
  char hash[128];
  assert_int_equal(jk__password_hash("x-pass-000001", 13, hash), JK_OK);
  assert_non_null(strstr(hash, "$argon2id$"));
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_password_add(s, op.id, hash, "2020-01-01T00:00:00.000000Z", "-"), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);
  assert_int_equal(jk__password_verify(s, &q, op.id, "x-pass-000001", 13, &expired), JK_OK);
  assert_true(expired);
  q.max_age_days = 0; /* never expires */
  assert_int_equal(jk__password_verify(s, &q, op.id, "x-pass-000001", 13, &expired), JK_OK);
  assert_false(expired);
  jk_store_close(s);
  tu_store_free(&t);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  jk_lang_set(JK_LANG_EN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table_parses),
      cmocka_unit_test(test_every_action_is_listed),
      cmocka_unit_test(test_roles_match),
      cmocka_unit_test(test_password_rules),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
