// Package migrations holds Lookout's database schema as goose migrations,
// embedded in the binary so that `lookout migrate` needs no files on disk.
//
// sqlite/ and postgres/ carry the same numbers: migration N does the same
// thing in both dialects. Migrations are forward-only; a mistake is fixed by
// a later migration, never by editing one that has shipped.
package migrations

import "embed"

// FS holds sqlite/NNNN_name.sql and postgres/NNNN_name.sql.
//
//go:embed sqlite/*.sql postgres/*.sql
var FS embed.FS
