/*
 * rights_int.h — shared between the files of src/rights (private).
 */
#ifndef JK_RIGHTS_INT_H
#define JK_RIGHTS_INT_H

#include "jukinet/store.h"

/* A 支援措置 in force on `today`: provisional or active, and not past its end. */
bool jk__protection_in_force(const jk_protection_rec *p, jk_date today);

#endif
