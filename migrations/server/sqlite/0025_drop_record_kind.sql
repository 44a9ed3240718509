-- `record_kind` indexed a column of six values. No lookup needs it (a whole kind is read
-- only by rebuilds and exports, which read most of the table anyway), and it misled both
-- planners: SQLite without statistics, and a PostgreSQL plan prepared while the tables
-- were small, joined a photo's evidence record through it, reading every evidence record
-- for each photo of a pushed inspection. It also cost an index entry per record.
DROP INDEX record_kind;
