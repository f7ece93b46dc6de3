package auth

import (
	"context"
	"errors"
)

// Logout ends the session a refresh token belongs to: every token of its
// family is revoked, so a copy of the cookie taken before the logout is
// worth nothing. An unknown token is no error (the session is over
// anyway).
func (s *Service) Logout(ctx context.Context, refreshToken string) error {
	rt, err := s.store.UseRefreshToken(ctx, hashToken(refreshToken))
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil && !errors.Is(err, ErrTokenReused) {
		return err
	}
	return s.store.RevokeRefreshFamily(ctx, rt.Family)
}
