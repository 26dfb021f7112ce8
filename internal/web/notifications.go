package web

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/lookout/lookout/internal/uptime"
)

// deliveryStatuses are the values ?status= accepts.
var deliveryStatuses = []uptime.DeliveryStatus{
	uptime.DeliveryPending, uptime.DeliveryDelivered, uptime.DeliveryDead,
	uptime.DeliveryMuted, uptime.DeliverySkipped,
}

// deliveryView is one row of the delivery log as the API shows it: the
// event's type and target are repeated at the top for scripts and the
// dashboard.
type deliveryView struct {
	uptime.Delivery
	Type   uptime.EventType `json:"type"`
	Target string           `json:"target"`
}

func deliveryViewOf(d uptime.Delivery) deliveryView {
	d.CreatedAt, d.FinishedAt, d.NextAt = d.CreatedAt.UTC(), d.FinishedAt.UTC(), d.NextAt.UTC()
	d.Event.At, d.Event.Since = d.Event.At.UTC(), d.Event.Since.UTC()
	return deliveryView{Delivery: d, Type: d.Event.Type, Target: d.Event.Target}
}

// notificationList is the body of GET /api/v1/notifications.
type notificationList struct {
	Notifications []deliveryView `json:"notifications"`
	NextCursor    string         `json:"next_cursor"`
}

// handleNotificationList returns the delivery log newest first, filtered
// by channel, target and status, a page at a time.
func (s *Server) handleNotificationList(w http.ResponseWriter, r *http.Request) {
	f, err := parseDeliveryQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit := f.Limit
	f.Limit++ // one more tells whether there is a next page
	ds, err := s.store.ListDeliveries(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ds, next := pageByID(ds, limit, func(d uptime.Delivery) int64 { return d.ID })
	out := notificationList{Notifications: make([]deliveryView, len(ds)), NextCursor: next}
	for i, d := range ds {
		out.Notifications[i] = deliveryViewOf(d)
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

func parseDeliveryQuery(r *http.Request) (uptime.DeliveryFilter, error) {
	v := r.URL.Query()
	var verr uptime.ValidationError
	f := uptime.DeliveryFilter{Channel: v.Get("channel"), Target: v.Get("target"),
		Status: uptime.DeliveryStatus(v.Get("status"))}
	if f.Channel != "" && !uptime.ValidName(f.Channel) {
		verr.Add("channel", fmt.Sprintf("%q is not a valid channel name", f.Channel))
	}
	if f.Target != "" && !uptime.ValidName(f.Target) {
		verr.Add("target", fmt.Sprintf("%q is not a valid target name", f.Target))
	}
	if f.Status != "" && !slices.Contains(deliveryStatuses, f.Status) {
		verr.Add("status", fmt.Sprintf("%q is not one of pending, delivered, dead, muted, skipped", f.Status))
	}
	f.Limit = queryLimit(v, defaultLogLimit, maxLogLimit, &verr)
	f.Before = queryCursor(v, &verr)
	return f, verr.Err()
}
