/*
 * migrations.h — numbered schema migrations compiled into the library (private).
 * The SQL files live in src/store/sql/<backend>/NNNN_name.sql; cmake/embed_sql.cmake turns
 * them into a table. A node.db records the highest applied number and is upgraded in place.
 */
#ifndef JK_STORE_MIGRATIONS_H
#define JK_STORE_MIGRATIONS_H

struct jk__migration {
  int number;
  const char *name;
  const char *sql;
};

extern const struct jk__migration jk__sqlite_migrations[];
extern const int jk__sqlite_migration_count;
/* The PostgreSQL dialect (src/store/sql/pg/), numbered exactly like the SQLite files. */
extern const struct jk__migration jk__pg_migrations[];
extern const int jk__pg_migration_count;

#endif
