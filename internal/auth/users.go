package auth

import (
	"context"
	"fmt"
)

// ListUsers lists every user (hashes included: callers show only the
// public fields).
func (s *Service) ListUsers(ctx context.Context) ([]User, error) { return s.store.ListUsers(ctx) }

// UserChange is a partial update of a user; nil fields stay as they are.
type UserChange struct {
	Role     *Role
	Disabled *bool
}

// UpdateUser changes a user's role or disabled flag. Either change ends
// the user's access tokens and open streams on every instance (a token
// carries its role); disabling also revokes the refresh tokens, so that
// re-enabling does not revive old sessions. After a role change the
// client refreshes and gets a token with the new role.
func (s *Service) UpdateUser(ctx context.Context, id string, ch UserChange) (User, error) {
	u, err := s.store.GetUser(ctx, id)
	if err != nil {
		return User{}, err
	}
	before := u
	if ch.Role != nil {
		if !ch.Role.Valid() {
			return User{}, fmt.Errorf("invalid role %q", *ch.Role)
		}
		u.Role = *ch.Role
	}
	if ch.Disabled != nil {
		u.Disabled = *ch.Disabled
	}
	if u.Role == before.Role && u.Disabled == before.Disabled {
		return u, nil
	}
	change := func() error {
		if err := s.store.UpdateUser(ctx, u.ID, u.Role, u.Disabled); err != nil {
			return fmt.Errorf("cannot update user %s: %w", id, err)
		}
		if u.Disabled && !before.Disabled {
			if err := s.store.RevokeUserRefreshTokens(ctx, u.ID); err != nil {
				return fmt.Errorf("cannot revoke the sessions of user %s: %w", id, err)
			}
		}
		return nil
	}
	// Re-enabling voids nothing: the user's tokens died when it was
	// disabled.
	if u.Role == before.Role && !u.Disabled {
		return u, change()
	}
	if err := s.revokeAround(ctx, u.ID, change); err != nil {
		return User{}, err
	}
	return u, nil
}

// DeleteUser removes a user, its sessions and, on every instance, its
// access tokens and open streams.
func (s *Service) DeleteUser(ctx context.Context, id string) error {
	if _, err := s.store.GetUser(ctx, id); err != nil {
		return err
	}
	return s.revokeAround(ctx, id, func() error {
		if err := s.store.DeleteUser(ctx, id); err != nil {
			return fmt.Errorf("cannot delete user %s: %w", id, err)
		}
		return nil
	})
}
