package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/paymon/paymon/internal/auth"
)

// The disabled flag has a table of its own rather than a column of
// users: CREATE TABLE IF NOT EXISTS upgrades an existing database with no
// migration step. auth_revocations holds one row per revoked subject
// (auth.Store.RevokeSubject).
func init() {
	schemas = append(schemas, `
CREATE TABLE IF NOT EXISTS users_disabled (
	user_id TEXT PRIMARY KEY
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS auth_revocations (
	subject TEXT PRIMARY KEY,
	at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS auth_revocations_at ON auth_revocations(at);
`)
}

// ListUsers implements auth.Store.
func (db *DB) ListUsers(ctx context.Context) ([]auth.User, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY id`)
	if err != nil {
		return nil, db.readErr(err)
	}
	defer rows.Close()
	out := []auth.User{}
	for rows.Next() {
		u, err := scanUser(rows.Scan)
		if err != nil {
			return nil, db.readErr(err)
		}
		out = append(out, u)
	}
	return out, db.readErr(rows.Err())
}

// UpdateUser implements auth.Store.
func (db *DB) UpdateUser(ctx context.Context, id string, role auth.Role, disabled bool) error {
	return db.exec(ctx, "update_user", func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE users SET role = ? WHERE id = ?`, string(role), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return auth.ErrNotFound
		}
		if disabled {
			_, err = tx.Exec(`INSERT INTO users_disabled(user_id) VALUES (?) ON CONFLICT DO NOTHING`, id)
		} else {
			_, err = tx.Exec(`DELETE FROM users_disabled WHERE user_id = ?`, id)
		}
		return err
	})
}

// DeleteUser implements auth.Store.
func (db *DB) DeleteUser(ctx context.Context, id string) error {
	return db.exec(ctx, "delete_user", func(tx *sql.Tx) error {
		res, err := tx.Exec(`DELETE FROM users WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return auth.ErrNotFound
		}
		if _, err := tx.Exec(`DELETE FROM users_disabled WHERE user_id = ?`, id); err != nil {
			return err
		}
		_, err = tx.Exec(`DELETE FROM refresh_tokens WHERE user_id = ?`, id)
		return err
	})
}

// RevokeUserRefreshTokens implements auth.Store.
func (db *DB) RevokeUserRefreshTokens(ctx context.Context, userID string) error {
	return db.exec(ctx, "revoke_user_refresh_tokens", func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE refresh_tokens SET revoked = 1 WHERE user_id = ?`, userID)
		return err
	})
}

// RevokeSubject implements auth.Store.
func (db *DB) RevokeSubject(ctx context.Context, subject string, at time.Time) error {
	return db.exec(ctx, "revoke_subject", func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO auth_revocations(subject, at) VALUES (?, ?)
			ON CONFLICT(subject) DO UPDATE SET at = max(at, excluded.at)`, subject, ms(at))
		return err
	})
}

// RevocationsSince implements auth.Store.
func (db *DB) RevocationsSince(ctx context.Context, since time.Time) ([]auth.Revocation, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT subject, at FROM auth_revocations WHERE at > ? ORDER BY at`, ms(since))
	if err != nil {
		return nil, db.readErr(err)
	}
	defer rows.Close()
	out := []auth.Revocation{}
	for rows.Next() {
		var r auth.Revocation
		var at int64
		if err := rows.Scan(&r.Subject, &at); err != nil {
			return nil, db.readErr(err)
		}
		r.At = fromMS(at)
		out = append(out, r)
	}
	return out, db.readErr(rows.Err())
}

// DeleteRevocationsBefore implements auth.Store.
func (db *DB) DeleteRevocationsBefore(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.exec(ctx, "sweep_revocations", func(tx *sql.Tx) error {
		res, err := tx.Exec(`DELETE FROM auth_revocations WHERE at < ?`, ms(before))
		if err == nil {
			n, _ = res.RowsAffected()
		}
		return err
	})
	return n, err
}
