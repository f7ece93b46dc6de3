package httpapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/paymon/paymon/internal/auth"
)

// userJSON is a user as the API shows it: never the password hash.
type userJSON struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Role      auth.Role `json:"role"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
}

func toUserJSON(u auth.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Role: u.Role, Disabled: u.Disabled, CreatedAt: u.CreatedAt}
}

func (s *server) listUsers(w http.ResponseWriter, r *http.Request) {
	us, err := s.Auth.ListUsers(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]userJSON, 0, len(us))
	for _, u := range us {
		out = append(out, toUserJSON(u))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out, "has_more": false})
}

var errUserNotFound = &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "user not found"}

// errSelf refuses changes that would lock the calling admin out; another
// admin can make them.
var errSelf = &apiError{Status: http.StatusConflict, Code: "own_account", Message: "you cannot disable, delete or change the role of your own account; ask another admin"}

func (s *server) updateUser(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Role     *auth.Role `json:"role"`
		Disabled *bool      `json:"disabled"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	var ch auth.UserChange
	if req.Role != nil {
		if !req.Role.Valid() || *req.Role == auth.RoleIngest {
			s.writeError(w, r, errInvalid("role", "role must be admin, operator or viewer"))
			return
		}
		ch.Role = req.Role
	}
	ch.Disabled = req.Disabled
	if ch.Role == nil && ch.Disabled == nil {
		s.writeError(w, r, errInvalid("user", "send role or disabled (or both)"))
		return
	}
	id := r.PathValue("id")
	if id == principal(r.Context()).ID {
		s.writeError(w, r, errSelf)
		return
	}
	u, err := s.Auth.UpdateUser(r.Context(), id, ch)
	if errors.Is(err, auth.ErrNotFound) {
		s.writeError(w, r, errUserNotFound)
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toUserJSON(u))
}

func (s *server) deleteUser(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == principal(r.Context()).ID {
		s.writeError(w, r, errSelf)
		return
	}
	err := s.Auth.DeleteUser(r.Context(), id)
	if errors.Is(err, auth.ErrNotFound) {
		s.writeError(w, r, errUserNotFound)
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
