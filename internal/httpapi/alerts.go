package httpapi

import (
	"net/http"

	"github.com/paymon/paymon/internal/alert"
)

// listAlerts answers GET /api/v1/alerts?state=firing|resolved&rule=&limit=
// with {"data":[…]}, newest first.
func (s *server) listAlerts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var f alert.Filter
	if v := q.Get("state"); v != "" {
		f.State = alert.State(v)
		if !f.State.Valid() {
			s.writeError(w, r, errBadRequest("invalid_parameter", "state must be firing or resolved"))
			return
		}
	}
	f.Rule = q.Get("rule")
	var err error
	if f.Limit, err = intParam(r, "limit", 100, 1, 500); err != nil {
		s.writeError(w, r, err)
		return
	}
	out := []alert.Alert{}
	if s.Alerts != nil {
		if out, err = s.Alerts.List(r.Context(), f); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out})
}
