/*
 * cmd_gen.c — `jukinet gen residents --count N --seed S`: realistic synthetic residents as
 * CSV in the import format (same seed → same file). Streams in 1 MiB chunks.
 */
#include "cli.h"

#include "jukinet/csv.h"
#include "jukinet/gen.h"
#include "jukinet/text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (1u << 20)
#define MAX_COUNT 100000000ULL

static jk_err flush_chunk(int fd, jk_buf *b, bool cp932, size_t *line_base) {
  const char *p = b->data;
  size_t n = b->len;
  char *sj = NULL;
  jk_err e = JK_OK;
  if (!n) return JK_OK;
  if (cp932) {
    jk_text_pos bad;
    if ((e = jk_utf8_to_cp932(b->data, b->len, &sj, &n, &bad))) {
      jk_error_prefix(jk_tr("around line %zu of the output: "), *line_base);
      return e;
    }
    p = sj;
  }
  for (const char *q = b->data; (q = memchr(q, '\n', (size_t)(b->data + b->len - q))); q++) (*line_base)++;
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      e = jk_error_set(JK_EIO, "cannot write %s: %s", "output", strerror(errno));
      break;
    }
    p += w;
    n -= (size_t)w;
  }
  jk_free(sj);
  jk_buf_reset(b);
  return e;
}

int cmd_gen(int argc, char **argv, cli_global *g) {
  const char *count = NULL, *seed = "1", *city = NULL, *outpath = NULL, *encoding = "utf-8";
  const cli_opt opts[] = {{"count", &count, NULL}, {"seed", &seed, NULL},         {"city", &city, NULL},
                          {"out", &outpath, NULL}, {"encoding", &encoding, NULL}, {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (argc < 1 || strcmp(argv[0], "residents") != 0)
    return cli_usage("usage: jukinet gen residents --count N --seed S [--city NAME] [--out FILE]");
  if (cli_parse(argc - 1, argv + 1, opts, pos, 0, &npos, g)) return EXIT_USAGE;
  if (!count) return cli_usage("--count is required");
  char *end;
  errno = 0;
  unsigned long long n = strtoull(count, &end, 10);
  if (!*count || *end || errno || n == 0 || n > MAX_COUNT || count[0] == '-')
    return cli_usage("--count must be a number from 1 to %llu", MAX_COUNT);
  errno = 0;
  unsigned long long s = strtoull(seed, &end, 10);
  if (!*seed || *end || errno || seed[0] == '-') return cli_usage("--seed must be a non-negative number");
  bool cp932 = strcasecmp(encoding, "cp932") == 0;
  if (!cp932 && strcasecmp(encoding, "utf-8") != 0) return cli_usage("unknown encoding '%s' (utf-8, cp932)", encoding);

  jk_gen *gen = NULL;
  jk_buf b = {0};
  jk_err e;
  int fd = STDOUT_FILENO;
  char tmp[4096] = "";
  size_t line = 1;
  if ((e = jk_gen_new(&gen, (uint64_t)s, city, jk_date_today()))) goto out;
  if (outpath && strcmp(outpath, "-") != 0) {
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", outpath) >= sizeof tmp) {
      e = jk_error_set(JK_ETOOLARGE, "path too long");
      goto out;
    }
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
      e = jk_error_set(JK_EIO, "cannot write %s: %s", outpath, strerror(errno));
      goto out;
    }
  }
  static const char header[] = "住民票コード,氏名,氏名かな,生年月日,性別,住所,世帯,続柄,異動事由,異動年月日\r\n";
  if ((e = jk_buf_append(&b, header, sizeof header - 1))) goto out;
  for (unsigned long long i = 0; i < n; i++) {
    jk_identity r;
    uint64_t hh;
    char birth[11], moved[11], hhs[24];
    if ((e = jk_gen_next(gen, &r, &hh))) goto out;
    jk_date_format_iso(r.birth, birth);
    jk_date_format_iso(r.moved_on, moved);
    snprintf(hhs, sizeof hhs, "%llu", (unsigned long long)hh);
    const char *sex = jk_sex_name_ja(r.sex), *reason = jk_move_name_ja(r.reason), *rel = r.relation ? r.relation : "";
    if ((e = jk_csv_put_field(&b, "", 0, true)) || (e = jk_csv_put_field(&b, r.name, strlen(r.name), false)) ||
        (e = jk_csv_put_field(&b, r.kana, strlen(r.kana), false)) || (e = jk_csv_put_field(&b, birth, 10, false)) ||
        (e = jk_csv_put_field(&b, sex, strlen(sex), false)) ||
        (e = jk_csv_put_field(&b, r.address, strlen(r.address), false)) ||
        (e = jk_csv_put_field(&b, hhs, strlen(hhs), false)) || (e = jk_csv_put_field(&b, rel, strlen(rel), false)) ||
        (e = jk_csv_put_field(&b, reason, strlen(reason), false)) || (e = jk_csv_put_field(&b, moved, 10, false)) ||
        (e = jk_csv_end_record(&b)))
      goto out;
    if (b.len >= CHUNK && (e = flush_chunk(fd, &b, cp932, &line))) goto out;
  }
  if ((e = flush_chunk(fd, &b, cp932, &line))) goto out;
  if (fd != STDOUT_FILENO) {
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, outpath) != 0) {
      fd = STDOUT_FILENO;
      e = jk_error_set(JK_EIO, "cannot write %s: %s", outpath, strerror(errno));
      goto out;
    }
    fd = STDOUT_FILENO;
    tmp[0] = '\0';
  }
out:
  if (fd != STDOUT_FILENO) close(fd);
  if (tmp[0]) unlink(tmp);
  jk_gen_free(gen);
  jk_buf_free(&b);
  return e ? cli_fail(e) : 0;
}
