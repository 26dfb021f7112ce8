package notify

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// storeTimeout bounds one outbox write made after shutdown began.
const storeTimeout = 5 * time.Second

// job is one send to one channel: a single delivery, or the openings or
// resolutions grouped into one message.
type job struct {
	channel string
	ds      []uptime.Delivery
	// cause, when set, is what every delivery of the group is attributed
	// to (or the target of that name itself).
	cause   string
	w       *world
	claimed time.Time // wall clock of the claim, for the lease
}

// world is the configuration read once per claim.
type world struct {
	channels map[string]uptime.Channel
	silences []uptime.Silence
	maint    []uptime.Maintenance
}

// lane holds one channel's jobs in order; one goroutine drains it, so a
// slow receiver delays only its own channel.
type lane struct {
	jobs    []job
	running bool
}

// poll claims the due deliveries and hands them to their channels' lanes.
// It never waits on a send.
func (d *Dispatcher) poll(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	now := d.now()
	ds, err := d.out.ClaimDeliveries(ctx, now, d.cfg.Lease, claimLimit)
	if err != nil {
		d.readFailed(ctx, "claim deliveries", err)
		return
	}
	ds = d.take(ds)
	if len(ds) == 0 {
		return
	}
	claimed := time.Now()
	w, err := d.load(ctx)
	if err != nil {
		// The leases run out and the deliveries come back.
		d.readFailed(ctx, "load channels", err)
		d.release(ds)
		return
	}
	var order []string
	byChan := map[string][]uptime.Delivery{}
	for _, dl := range ds {
		if _, ok := byChan[dl.Channel]; !ok {
			order = append(order, dl.Channel)
		}
		byChan[dl.Channel] = append(byChan[dl.Channel], dl)
	}
	for _, ch := range order {
		d.enqueue(ctx, ch, d.plan(ctx, ch, byChan[ch], now, w, claimed))
	}
}

// plan turns one channel's claimed deliveries into jobs in id order. Its
// openings, with every other opening pending for the channel, become one
// job per cause where the first of them stood: the openings attributed to
// a cause, and that cause's own, make one message; those with no cause
// another, as before. A resolution joins the other pending resolutions of
// its cause (its cause, or itself when it has none: the dependents that
// name it) into one job where the first of them stood, and so do the
// reminders of one cause claimed together.
func (d *Dispatcher) plan(ctx context.Context, ch string, ds []uptime.Delivery, now time.Time, w *world, claimed time.Time) []job {
	var openings []uptime.Delivery
	for _, dl := range ds {
		if dl.Event.Type == uptime.EventIncidentOpened {
			openings = append(openings, dl)
		}
	}
	if len(openings) > 0 {
		more, err := d.out.ClaimPending(ctx, ch, uptime.EventIncidentOpened, "", now, d.cfg.Lease)
		if err != nil {
			d.log.Warn("claim pending openings", "channel", ch, "err", err)
		}
		openings = merge(openings, d.take(more))
		openings = d.attribute(ctx, ch, openings, now, w)
	}
	resolutions := map[string][]uptime.Delivery{}
	for _, dl := range ds {
		if dl.Event.Type != uptime.EventIncidentResolved {
			continue
		}
		key := resolvedKey(dl.Event)
		if _, seen := resolutions[key]; !seen {
			more, err := d.out.ClaimPending(ctx, ch, uptime.EventIncidentResolved, key, now, d.cfg.Lease)
			if err != nil {
				d.log.Warn("claim pending resolutions", "channel", ch, "cause", key, "err", err)
			}
			resolutions[key] = d.take(more)
		}
		resolutions[key] = merge(resolutions[key], []uptime.Delivery{dl})
	}

	// Reminders of one cause fall due together (they were queued when
	// their grouped opening was sent): one message for them too.
	var reminders []uptime.Delivery
	for _, dl := range ds {
		if dl.Event.Type == uptime.EventIncidentReminder {
			reminders = append(reminders, dl)
		}
	}
	reminded := map[int64]causeGroup{}
	for _, g := range byCause(reminders) {
		if g.cause != "" {
			for _, dl := range g.ds {
				reminded[dl.ID] = g
			}
		}
	}

	var jobs []job
	grouped := false
	done := map[string]bool{}
	for _, dl := range ds {
		if g, ok := reminded[dl.ID]; ok {
			if g.ds[0].ID == dl.ID {
				jobs = append(jobs, job{channel: ch, ds: g.ds, cause: g.cause, w: w, claimed: claimed})
			}
			continue
		}
		switch dl.Event.Type {
		case uptime.EventIncidentOpened:
			if !grouped {
				for _, g := range byCause(openings) {
					jobs = append(jobs, job{channel: ch, ds: g.ds, cause: g.cause, w: w, claimed: claimed})
				}
				grouped = true
			}
		case uptime.EventIncidentResolved:
			key := resolvedKey(dl.Event)
			if !done[key] {
				jobs = append(jobs, job{channel: ch, ds: resolutions[key], cause: key, w: w, claimed: claimed})
				done[key] = true
			}
		default:
			jobs = append(jobs, job{channel: ch, ds: []uptime.Delivery{dl}, w: w, claimed: claimed})
		}
	}
	return jobs
}

// holdStep is how soon openings held for a suspected cause are looked at
// again.
const holdStep = time.Second

// attribute decides what the openings about to be sent are attributed to,
// now that group_wait has passed: which check crossed its threshold first
// no longer matters. The openings whose cause is only suspected (a
// dependency failing below its threshold, not down yet) and whose cause's
// own opening is not among them are held, for up to one more group_wait,
// so that the cause and its dependents still go out as one message; the
// rest are returned. Should the store fail, the causes decided when the
// incidents opened are kept.
func (d *Dispatcher) attribute(ctx context.Context, ch string, openings []uptime.Delivery, now time.Time, w *world) []uptime.Delivery {
	var ids []int64
	for _, dl := range openings {
		if dl.Event.IncidentID != 0 {
			ids = append(ids, dl.Event.IncidentID)
		}
	}
	if len(ids) == 0 {
		return openings
	}
	attrs, err := d.out.AttributeIncidents(ctx, ids)
	if err != nil {
		d.log.Warn("attribute incidents", "channel", ch, "err", err)
		return openings
	}
	targets := map[string]bool{}
	for i := range openings {
		ev := &openings[i].Event
		targets[ev.Target] = true
		if a, ok := attrs[ev.IncidentID]; ok {
			ev.Cause = a.Cause
		}
	}
	wait := w.channels[ch].GroupWait.D()
	var keep, held []uptime.Delivery
	for _, dl := range openings {
		a := attrs[dl.Event.IncidentID]
		if a.Suspected && !targets[a.Cause] && now.Before(dl.Event.At.Add(2*wait)) {
			held = append(held, dl)
			continue
		}
		keep = append(keep, dl)
	}
	for _, dl := range held {
		d.log.Debug("opening held for its suspected cause", "channel", ch, "delivery_id", dl.ID,
			"target", dl.Event.Target, "cause", dl.Event.Cause)
		d.finish(ctx, dl, uptime.DeliveryUpdate{Status: uptime.DeliveryPending, NextAt: now.Add(holdStep), At: now}, "")
	}
	d.release(held)
	return keep
}

// resolvedKey is what a resolution is grouped under: its cause, or its own
// target, whose dependents' resolutions name it as their cause.
func resolvedKey(ev uptime.Event) string {
	if ev.Cause != "" {
		return ev.Cause
	}
	return ev.Target
}

// merge adds more to ds, leaving out those already there, in id order.
func merge(ds, more []uptime.Delivery) []uptime.Delivery {
	for _, dl := range more {
		if !slices.ContainsFunc(ds, func(o uptime.Delivery) bool { return o.ID == dl.ID }) {
			ds = append(ds, dl)
		}
	}
	slices.SortFunc(ds, func(a, b uptime.Delivery) int { return cmp.Compare(a.ID, b.ID) })
	return ds
}

// causeGroup is the openings (or reminders) of one message.
type causeGroup struct {
	cause string
	ds    []uptime.Delivery
}

// byCause splits openings (or reminders), in id order, by cause, in order
// of each group's first. One without a cause joins the group of those
// attributed to its target, if any: the cause is down too; the others
// without a cause make one group (with cause ""), as before causes.
func byCause(openings []uptime.Delivery) []causeGroup {
	causes := map[string]bool{}
	for _, dl := range openings {
		if dl.Event.Cause != "" {
			causes[dl.Event.Cause] = true
		}
	}
	var out []causeGroup
	at := map[string]int{}
	for _, dl := range openings {
		key := dl.Event.Cause
		if key == "" && causes[dl.Event.Target] {
			key = dl.Event.Target
		}
		i, ok := at[key]
		if !ok {
			i = len(out)
			at[key] = i
			out = append(out, causeGroup{cause: key})
		}
		out[i].ds = append(out[i].ds, dl)
	}
	return out
}

// take drops the deliveries already queued here (a lease ran out while
// they waited) and marks the rest as ours.
func (d *Dispatcher) take(ds []uptime.Delivery) []uptime.Delivery {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := ds[:0:0]
	for _, dl := range ds {
		if !d.inFlight[dl.ID] {
			d.inFlight[dl.ID] = true
			out = append(out, dl)
		}
	}
	return out
}

func (d *Dispatcher) release(ds []uptime.Delivery) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, dl := range ds {
		delete(d.inFlight, dl.ID)
	}
}

func (d *Dispatcher) load(ctx context.Context) (*world, error) {
	cs, err := d.out.ListChannels(ctx)
	if err != nil {
		return nil, fmt.Errorf("list channels: %w", err)
	}
	ss, err := d.out.ListSilences(ctx)
	if err != nil {
		return nil, fmt.Errorf("list silences: %w", err)
	}
	ms, err := d.out.ListMaintenance(ctx)
	if err != nil {
		return nil, fmt.Errorf("list maintenance: %w", err)
	}
	w := &world{channels: make(map[string]uptime.Channel, len(cs)), silences: ss, maint: ms}
	for _, c := range cs {
		c.Normalize()
		w.channels[c.Name] = c
	}
	return w, nil
}

func (d *Dispatcher) enqueue(ctx context.Context, ch string, jobs []job) {
	if len(jobs) == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	l := d.lanes[ch]
	if l == nil {
		l = &lane{}
		d.lanes[ch] = l
	}
	l.jobs = append(l.jobs, jobs...)
	if !l.running {
		l.running = true
		d.lanesWG.Add(1)
		go d.drain(ctx, ch, l)
	}
}

// drain runs a lane's jobs one after another until it is empty or ctx is
// done; what is left then waits for its lease to run out.
func (d *Dispatcher) drain(ctx context.Context, ch string, l *lane) {
	defer d.lanesWG.Done()
	for {
		d.mu.Lock()
		if len(l.jobs) == 0 || ctx.Err() != nil {
			for _, j := range l.jobs {
				for _, dl := range j.ds {
					delete(d.inFlight, dl.ID)
				}
			}
			l.jobs, l.running = nil, false
			delete(d.lanes, ch)
			d.mu.Unlock()
			return
		}
		j := l.jobs[0]
		l.jobs = l.jobs[1:]
		d.mu.Unlock()
		d.handle(ctx, j)
		d.release(j.ds)
	}
}

// handle screens a job's deliveries, sends what is left as one message and
// records every outcome.
func (d *Dispatcher) handle(ctx context.Context, j job) {
	if time.Since(j.claimed) > d.cfg.Lease {
		// Another instance may own them now; they will be claimed again.
		d.log.Debug("lease ran out before send", "channel", j.channel, "delivery_id", j.ds[0].ID)
		return
	}
	// Outcomes are recorded even when shutdown began mid-send.
	bg := context.WithoutCancel(ctx)
	c, exists := j.w.channels[j.channel]
	var send []uptime.Delivery
	for _, dl := range j.ds {
		u, outcome, leave := d.screen(ctx, dl, c, exists, j.w)
		switch {
		case leave:
		case outcome == OutcomeMuted:
			d.finish(bg, dl, u, outcome)
			d.remindAfterMute(bg, dl, c, j.w)
		case outcome != "":
			d.finish(bg, dl, u, outcome)
		default:
			send = append(send, dl)
		}
	}
	if len(send) == 0 {
		return
	}
	k, ok := lookup(c.Kind)
	if !ok {
		for _, dl := range send {
			d.finish(bg, dl, uptime.DeliveryUpdate{Status: uptime.DeliveryDead, Reason: fmt.Sprintf("unknown channel kind %q", c.Kind), At: d.now()}, OutcomeDead)
		}
		return
	}
	evs := make([]uptime.Event, len(send))
	for i, dl := range send {
		evs[i] = dl.Event
	}
	m := message{
		Type: send[0].Event.Type, Events: evs, Channel: c.Name, ID: messageID(send),
		Thread: send[0].Thread, Dashboard: d.cfg.DashboardURL,
	}
	if len(send) > 1 {
		m.Cause = j.cause
	}
	if err := d.limiter.wait(ctx, k.rateKey(c), d.gap(k)); err != nil {
		return // shutting down; the leases run out
	}
	select {
	case d.workers <- struct{}{}:
	case <-ctx.Done():
		return
	}
	m.Attempt = d.now()
	res, err := k.send(bg, d, c, m)
	<-d.workers
	now := d.now()
	if err != nil {
		v := classify(err)
		msg := safeError(err, c)
		for _, dl := range send {
			d.failed(bg, dl, v, msg, now)
		}
		return
	}
	for _, dl := range send {
		d.finish(bg, dl, uptime.DeliveryUpdate{Status: uptime.DeliveryDelivered, Attempted: true, Thread: res.Thread, At: now}, OutcomeDelivered)
		d.remind(bg, dl, c, now.Add(c.RepeatInterval.D()))
	}
}

// remindAfterMute queues a reminder of a muted opening or reminder for
// when the mute ends, so that an incident that outlasts its silence or
// maintenance window is heard of then ("still down"), and reminders go on
// from there. Should the mute still hold then (another silence), the
// reminder is muted in turn and queued again.
func (d *Dispatcher) remindAfterMute(ctx context.Context, dl uptime.Delivery, c uptime.Channel, w *world) {
	now := d.now()
	at := muteEnd(w, dl.Event.Labels, now)
	if at.IsZero() {
		at = now.Add(c.RepeatInterval.D())
	}
	d.remind(ctx, dl, c, at)
}

// remind queues the next reminder at at of the incident an opening or
// reminder speaks of; other events get none. It is called once dl is
// finished, since a reminder still pending makes EnqueueReminder a no-op.
func (d *Dispatcher) remind(ctx context.Context, dl uptime.Delivery, c uptime.Channel, at time.Time) {
	ev := dl.Event
	if ev.IncidentID == 0 || (ev.Type != uptime.EventIncidentOpened && ev.Type != uptime.EventIncidentReminder) {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if err := d.out.EnqueueReminder(sctx, ev.IncidentID, c.Name, at); err != nil {
		d.log.Error("enqueue reminder", "channel", c.Name, "delivery_id", dl.ID, "at", at, "err", err)
	}
}

// muteEnd is when the last of the silences and maintenance windows that
// mute these labels at now ends; zero when none does.
func muteEnd(w *world, labels map[string]string, now time.Time) time.Time {
	var end time.Time
	for _, s := range w.silences {
		if s.Active(labels, now) && s.EndsAt.After(end) {
			end = s.EndsAt
		}
	}
	for _, m := range w.maint {
		for _, span := range MaintenanceWindows(m, labels, now, now.Add(time.Millisecond)) {
			if !span.From.After(now) && span.To.After(end) {
				end = span.To
			}
		}
	}
	return end
}

// gap is the rate limit of a kind; tests may lift it.
func (d *Dispatcher) gap(k kind) time.Duration {
	if d.noRateLimit {
		return 0
	}
	return k.minGap
}

// screen decides what happens to a delivery before any send: an outcome
// ("skipped", "muted") with its update, nothing (send it), or leave (the
// store could not tell; the lease will bring it back).
func (d *Dispatcher) screen(ctx context.Context, dl uptime.Delivery, c uptime.Channel, exists bool, w *world) (u uptime.DeliveryUpdate, outcome string, leave bool) {
	now := d.now()
	ev := dl.Event
	skip := func(reason string) (uptime.DeliveryUpdate, string, bool) {
		return uptime.DeliveryUpdate{Status: uptime.DeliverySkipped, Reason: reason, At: now}, OutcomeSkipped, false
	}
	if !exists {
		return skip("channel deleted")
	}
	if ev.Suppressed != "" {
		return skip("suppressed: " + ev.Suppressed)
	}
	resolved := !dl.IncidentResolvedAt.IsZero()
	switch ev.Type {
	case uptime.EventIncidentOpened:
		if resolved && !dl.IncidentResolvedAt.After(ev.At.Add(c.GroupWait.D())) {
			return skip("resolved within group_wait")
		}
	case uptime.EventIncidentReminder:
		// A reminder is sent even when the opening was not (a silence
		// muted it): it is then the first the channel hears.
		if resolved {
			return skip("incident resolved")
		}
	case uptime.EventIncidentResolved:
		if ev.IncidentID == 0 {
			break // opened before incidents were kept: nothing to tell by
		}
		// A thread comes from a delivered opening: the channel was told.
		if dl.Thread == "" {
			told, err := d.out.Alerted(ctx, ev.IncidentID, c.Name)
			if err != nil {
				d.log.Error("look up what was alerted", "channel", c.Name, "delivery_id", dl.ID, "err", err)
				return u, "", true
			}
			if !told {
				return skip("the incident was not alerted here")
			}
		}
		// The resolution of what the channel was told is never muted: a
		// silence stops the paging, not the news that it is over (nor the
		// Slack opening turning green).
		return u, "", false
	case uptime.EventChannelTest:
		return u, "", false
	}
	for _, s := range w.silences {
		if s.Active(ev.Labels, now) {
			reason := fmt.Sprintf("silenced by silence %d", s.ID)
			if s.Comment != "" {
				reason += ": " + s.Comment
			}
			return uptime.DeliveryUpdate{Status: uptime.DeliveryMuted, Reason: reason, At: now}, OutcomeMuted, false
		}
	}
	for _, m := range w.maint {
		if MaintenanceActive(m, ev.Labels, now) {
			reason := fmt.Sprintf("maintenance %d", m.ID)
			if m.Name != "" {
				reason += " (" + m.Name + ")"
			}
			return uptime.DeliveryUpdate{Status: uptime.DeliveryMuted, Reason: reason, At: now}, OutcomeMuted, false
		}
	}
	return u, "", false
}

// failed records a failed attempt: retried with backoff, or dead when the
// error is permanent and was tried enough, or the event is too old.
func (d *Dispatcher) failed(ctx context.Context, dl uptime.Delivery, v verdict, msg string, now time.Time) {
	attempt := dl.Attempts + 1
	at := dl.Event.At
	if at.IsZero() {
		at = dl.CreatedAt
	}
	u := uptime.DeliveryUpdate{Attempted: true, Error: msg, At: now}
	outcome := OutcomeRetried
	switch {
	case now.Sub(at) > d.cfg.MaxAge:
		u.Status, outcome = uptime.DeliveryDead, OutcomeDead
		u.Reason = fmt.Sprintf("gave up after %d attempts over %s", attempt, human(d.cfg.MaxAge))
	case !v.retryable && attempt >= maxPermanentAttempts:
		u.Status, outcome = uptime.DeliveryDead, OutcomeDead
		u.Reason = fmt.Sprintf("permanent error after %d attempts", attempt)
	default:
		wait := v.retryAfter
		if wait <= 0 {
			wait = backoff(attempt)
		}
		u.Status, u.NextAt = uptime.DeliveryPending, now.Add(wait)
	}
	d.finish(ctx, dl, u, outcome)
}

// finish records an outcome, counts it and logs it.
func (d *Dispatcher) finish(ctx context.Context, dl uptime.Delivery, u uptime.DeliveryUpdate, outcome string) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	err := d.out.FinishDelivery(sctx, dl.ID, u)
	cancel()
	attrs := []any{"channel", dl.Channel, "delivery_id", dl.ID, "event", string(dl.Event.Type), "target", dl.Event.Target}
	if err != nil {
		d.log.Error("record delivery outcome", append(attrs, "outcome", outcome, "err", err)...)
		return
	}
	attempt := dl.Attempts
	if u.Attempted {
		attempt++
	}
	switch outcome {
	case OutcomeDelivered:
		d.stats.delivered.Add(1)
		d.log.Info("alert delivered", append(attrs, "attempt", attempt)...)
	case OutcomeRetried:
		d.stats.retried.Add(1)
		d.log.Warn("alert send failed, will retry", append(attrs, "attempt", attempt, "next_at", u.NextAt, "err", u.Error)...)
	case OutcomeDead:
		d.stats.dead.Add(1)
		d.log.Error("alert given up", append(attrs, "attempt", attempt, "reason", u.Reason, "err", u.Error)...)
	case OutcomeMuted:
		d.stats.muted.Add(1)
		d.log.Info("alert muted", append(attrs, "reason", u.Reason)...)
	case OutcomeSkipped:
		d.stats.skipped.Add(1)
		d.log.Info("alert skipped", append(attrs, "reason", u.Reason)...)
	}
}
