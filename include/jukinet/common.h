/*
 * common.h — what every public header of libjukinet needs: the export macro and the
 * allocator contract.
 *
 * Memory returned by the library (strings, records) is allocated with jk_malloc and
 * released with jk_free (or the type's own *_free). Both go through one function so
 * tests can inject allocation failures (STYLE: "Allocation goes through one function").
 */
#ifndef JUKINET_COMMON_H
#define JUKINET_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#if defined(__GNUC__)
#define JK_API __attribute__((visibility("default")))
#else
#define JK_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Allocation. jk_malloc/jk_realloc/jk_strdup/jk_strndup return NULL on failure (or when
 * a test's injected failure fires); jk_free(NULL) is a no-op. */
JK_API void *jk_malloc(size_t n);
JK_API void *jk_calloc(size_t count, size_t size);
JK_API void *jk_realloc(void *p, size_t n);
JK_API char *jk_strdup(const char *s);
JK_API char *jk_strndup(const char *s, size_t n);
JK_API void jk_free(void *p);

/* Test hook: make the Nth allocation from now on fail (1 = the next one); 0 disables.
 * Returns how many allocations have happened since the last call, so a test can loop
 * "fail the 1st, the 2nd, ..." until an operation succeeds without hitting the fault. */
JK_API unsigned long jk_alloc_fail_at(unsigned long nth);

#ifdef __cplusplus
}
#endif
#endif
