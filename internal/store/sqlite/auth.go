package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/paymon/paymon/internal/auth"
)

// CreateUser implements auth.Store.
func (db *DB) CreateUser(ctx context.Context, u auth.User) error {
	return db.exec(ctx, "create_user", func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO users(id, email, password_hash, role, created_at) VALUES (?,?,?,?,?)`, u.ID, u.Email, u.PasswordHash, string(u.Role), ms(u.CreatedAt))
		if isUnique(err) {
			return auth.ErrDuplicate
		}
		return err
	})
}

func (db *DB) getUser(ctx context.Context, where string, arg any) (auth.User, error) {
	u, err := scanUser(db.read.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE `+where, arg).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return u, auth.ErrNotFound
	}
	return u, db.readErr(err)
}

// userCols reads the disabled flag from users_disabled (auth_users.go).
const userCols = `id, email, password_hash, role, created_at, EXISTS(SELECT 1 FROM users_disabled d WHERE d.user_id = users.id)`

func scanUser(scan func(...any) error) (auth.User, error) {
	var u auth.User
	var role string
	var ca int64
	err := scan(&u.ID, &u.Email, &u.PasswordHash, &role, &ca, &u.Disabled)
	u.Role, u.CreatedAt = auth.Role(role), fromMS(ca)
	return u, err
}

// GetUser implements auth.Store.
func (db *DB) GetUser(ctx context.Context, id string) (auth.User, error) {
	return db.getUser(ctx, "id = ?", id)
}

// GetUserByEmail implements auth.Store.
func (db *DB) GetUserByEmail(ctx context.Context, email string) (auth.User, error) {
	return db.getUser(ctx, "email = ?", email)
}

// CountUsers implements auth.Store.
func (db *DB) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, db.readErr(err)
}

// CreateRefreshToken implements auth.Store.
func (db *DB) CreateRefreshToken(ctx context.Context, t auth.RefreshToken) error {
	return db.exec(ctx, "create_refresh_token", func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO refresh_tokens(hash, family, user_id, expires_at, created_at) VALUES (?,?,?,?,?)`, t.Hash, t.Family, t.UserID, ms(t.ExpiresAt), ms(t.CreatedAt))
		return err
	})
}

// UseRefreshToken implements auth.Store.
func (db *DB) UseRefreshToken(ctx context.Context, hash string) (auth.RefreshToken, error) {
	var t auth.RefreshToken
	err := db.exec(ctx, "use_refresh_token", func(tx *sql.Tx) error {
		var used, revoked int
		var ea, ca int64
		err := tx.QueryRow(`SELECT hash, family, user_id, used, revoked, expires_at, created_at FROM refresh_tokens WHERE hash = ?`, hash).
			Scan(&t.Hash, &t.Family, &t.UserID, &used, &revoked, &ea, &ca)
		if errors.Is(err, sql.ErrNoRows) {
			return auth.ErrNotFound
		}
		if err != nil {
			return err
		}
		t.Used, t.Revoked, t.ExpiresAt, t.CreatedAt = used == 1, revoked == 1, fromMS(ea), fromMS(ca)
		if t.Used {
			return auth.ErrTokenReused
		}
		_, err = tx.Exec(`UPDATE refresh_tokens SET used = 1 WHERE hash = ?`, hash)
		return err
	})
	return t, err
}

// RevokeRefreshFamily implements auth.Store.
func (db *DB) RevokeRefreshFamily(ctx context.Context, family string) error {
	return db.exec(ctx, "revoke_refresh_family", func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE refresh_tokens SET revoked = 1 WHERE family = ?`, family)
		return err
	})
}

// DeleteExpiredRefreshTokens implements auth.Store.
func (db *DB) DeleteExpiredRefreshTokens(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := db.exec(ctx, "sweep_refresh_tokens", func(tx *sql.Tx) error {
		res, err := tx.Exec(`DELETE FROM refresh_tokens WHERE expires_at <= ?`, ms(now))
		if err == nil {
			n, _ = res.RowsAffected()
		}
		return err
	})
	return n, err
}

// CreateAPIKey implements auth.Store.
func (db *DB) CreateAPIKey(ctx context.Context, k auth.APIKey) error {
	return db.exec(ctx, "create_api_key", func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO api_keys(id, name, prefix, hash, role, created_by, created_at) VALUES (?,?,?,?,?,?,?)`,
			k.ID, k.Name, k.Prefix, k.Hash, string(k.Role), k.CreatedBy, ms(k.CreatedAt))
		if isUnique(err) {
			return auth.ErrDuplicate
		}
		return err
	})
}

const apiKeyCols = `id, name, prefix, hash, role, created_by, created_at, revoked_at`

func scanAPIKey(scan func(...any) error) (auth.APIKey, error) {
	var k auth.APIKey
	var role string
	var ca, ra int64
	err := scan(&k.ID, &k.Name, &k.Prefix, &k.Hash, &role, &k.CreatedBy, &ca, &ra)
	k.Role, k.CreatedAt, k.RevokedAt = auth.Role(role), fromMS(ca), fromMS(ra)
	return k, err
}

// GetAPIKeyByHash implements auth.Store.
func (db *DB) GetAPIKeyByHash(ctx context.Context, hash string) (auth.APIKey, error) {
	k, err := scanAPIKey(db.read.QueryRowContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE hash = ?`, hash).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return k, auth.ErrNotFound
	}
	return k, db.readErr(err)
}

// ListAPIKeys implements auth.Store.
func (db *DB) ListAPIKeys(ctx context.Context) ([]auth.APIKey, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys ORDER BY id`)
	if err != nil {
		return nil, db.readErr(err)
	}
	defer rows.Close()
	out := []auth.APIKey{}
	for rows.Next() {
		k, err := scanAPIKey(rows.Scan)
		if err != nil {
			return nil, db.readErr(err)
		}
		out = append(out, k)
	}
	return out, db.readErr(rows.Err())
}

// RevokeAPIKey implements auth.Store.
func (db *DB) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	return db.exec(ctx, "revoke_api_key", func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at = 0`, ms(at), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return auth.ErrNotFound
		}
		return nil
	})
}

// GetOrCreateSecret implements auth.Store.
func (db *DB) GetOrCreateSecret(ctx context.Context, name string, gen []byte) ([]byte, error) {
	var v []byte
	err := db.exec(ctx, "get_or_create_secret", func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO settings(name, value) VALUES (?, ?) ON CONFLICT DO NOTHING`, name, gen); err != nil {
			return err
		}
		return tx.QueryRow(`SELECT value FROM settings WHERE name = ?`, name).Scan(&v)
	})
	return v, err
}
