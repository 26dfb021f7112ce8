package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

func maintenanceView(m uptime.Maintenance) uptime.Maintenance {
	m.StartsAt, m.EndsAt, m.CreatedAt = m.StartsAt.UTC(), m.EndsAt.UTC(), m.CreatedAt.UTC()
	return m
}

func maintenanceLocation(id int64) string { return "/api/v1/maintenance/" + strconv.FormatInt(id, 10) }

// maintenanceList is the body of GET /api/v1/maintenance.
type maintenanceList struct {
	Maintenance []uptime.Maintenance `json:"maintenance"`
}

// handleMaintenanceList lists every maintenance window.
func (s *Server) handleMaintenanceList(w http.ResponseWriter, r *http.Request) {
	ms, err := s.store.ListMaintenance(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := maintenanceList{Maintenance: make([]uptime.Maintenance, len(ms))}
	for i, m := range ms {
		out.Maintenance[i] = maintenanceView(m)
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

// handleMaintenanceCreate adds a one-off (starts_at, ends_at) or recurring
// (schedule, duration) maintenance window: 201 with Location.
func (s *Server) handleMaintenanceCreate(w http.ResponseWriter, r *http.Request) {
	b, err := readBody(w, r, "application/json")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var m uptime.Maintenance
	if err := decodeJSON(b, &m); err != nil {
		s.writeError(w, r, err)
		return
	}
	m.ID, m.CreatedAt = 0, time.Time{}
	m.StartsAt, m.EndsAt = m.StartsAt.UTC(), m.EndsAt.UTC()
	if err := s.validateMaintenance(&m); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.store.CreateMaintenance(r.Context(), &m); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", maintenanceLocation(m.ID))
	s.writeJSON(w, r, http.StatusCreated, maintenanceView(m))
}

// validateMaintenance runs the domain rules and what the owner of
// maintenance schedules checks (Config.ValidateMaintenance).
func (s *Server) validateMaintenance(m *uptime.Maintenance) error {
	var v uptime.ValidationError
	if err := m.Validate(); !v.Merge(err) {
		return err
	}
	if s.cfg.ValidateMaintenance != nil {
		if err := s.cfg.ValidateMaintenance(m); !v.Merge(err) {
			return err
		}
	}
	return v.Err()
}

// handleMaintenanceGet returns one maintenance window.
func (s *Server) handleMaintenanceGet(w http.ResponseWriter, r *http.Request) {
	m, err := findByID(r, s.store.ListMaintenance, func(m uptime.Maintenance) int64 { return m.ID })
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, maintenanceView(m))
}

// handleMaintenancePatch applies a JSON merge patch (RFC 7386) to a
// maintenance window and validates the result as a whole, as a POST is;
// its id and created_at cannot change. Moving a one-off window's ends_at
// before now ends it now. A window that ends sooner, or no longer matches a
// target, lets the reminders it held back go out when it lets go.
func (s *Server) handleMaintenancePatch(w http.ResponseWriter, r *http.Request) {
	id, err := routeID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b, err := readMergePatch(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.now().UTC()
	m, err := s.store.UpdateMaintenance(r.Context(), id, func(cur *uptime.Maintenance) error {
		var next uptime.Maintenance
		if err := mergeInto(maintenanceView(*cur), b, &next); err != nil {
			return err
		}
		if next.ID != cur.ID {
			return uptime.Invalid("id", "cannot be changed")
		}
		next.CreatedAt = cur.CreatedAt
		next.StartsAt, next.EndsAt = next.StartsAt.UTC(), next.EndsAt.UTC()
		if next.Schedule == "" {
			if err := endsNow(&next.EndsAt, cur.EndsAt, now); err != nil {
				return err
			}
		}
		if err := s.validateMaintenance(&next); err != nil {
			return err
		}
		*cur = next
		return nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, maintenanceView(m))
}

// handleMaintenanceDelete removes a maintenance window: 204.
func (s *Server) handleMaintenanceDelete(w http.ResponseWriter, r *http.Request) {
	id, err := routeID(r)
	if err == nil {
		err = s.store.DeleteMaintenance(r.Context(), id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
