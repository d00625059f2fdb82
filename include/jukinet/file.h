/*
 * file.h — reading a whole small file (certificates, CRLs, the CA's counters and lists).
 */
#ifndef JUKINET_FILE_H
#define JUKINET_FILE_H

#include "jukinet/common.h"
#include "jukinet/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Read the file at path, at most max bytes, into *out (NUL-terminated, jk_free; *len_out, may
 * be NULL, gets its length). JK_ENOTFOUND when it does not exist, JK_ETOOLARGE past max, JK_EIO
 * otherwise (the detail names the path). *out is NULL on failure. */
JK_API jk_err jk_file_read(const char *path, size_t max, char **out, size_t *len_out);

#ifdef __cplusplus
}
#endif
#endif
