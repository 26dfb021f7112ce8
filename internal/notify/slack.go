package notify

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/lookout/lookout/internal/uptime"
)

// Slack: an incoming webhook (Channel.URL, itself a credential, so never
// shown anywhere) or a bot token and channel. With a bot, reminders and the
// resolution reply in the opening's thread and the opening is updated once
// resolved. chat.update needs the channel's id (C…), so a bot channel
// should name its channel by id; with a name, only that update fails. A
// bot's api_url sends its Web API calls to a Slack-compatible server.
func init() {
	register(kind{
		name:     "slack",
		validate: validateSlack,
		send:     sendSlack,
		render: func(m message) ([]byte, error) {
			text, blocks := slackRender(m)
			return json.MarshalIndent(slack.WebhookMessage{Text: text, Blocks: &slack.Blocks{BlockSet: blocks}}, "", "  ")
		},
		// Slack accepts about one message per second per channel.
		minGap: time.Second,
	})
}

// groupSuffix marks the Thread of a grouped opening: its parent speaks of
// several targets, so one target's resolution must not rewrite it.
const groupSuffix = ";group"

func validateSlack(c *uptime.Channel) error {
	var v uptime.ValidationError
	switch {
	case c.URL != "" && c.Token != "":
		v.Add("url", "give either url (an incoming webhook) or token with channel, not both")
	case c.URL == "" && c.Token == "":
		v.Add("url", "is required: a Slack incoming-webhook URL, or a bot token with channel")
	case c.URL != "":
		if !httpURL(c.URL.Reveal()) {
			v.Add("url", "must be an http(s) URL such as https://hooks.slack.com/services/…")
		}
		if c.Channel != "" {
			v.Add("channel", "is only used with a bot token; an incoming webhook posts to its own channel")
		}
		if c.APIURL != "" {
			v.Add("api_url", "is only used with a bot token; an incoming webhook is called at its url")
		}
	default:
		if !strings.HasPrefix(c.Token.Reveal(), "xox") || strings.ContainsAny(c.Token.Reveal(), " \t\r\n") {
			v.Add("token", "must be a Slack token (xoxb-…)")
		}
		if strings.TrimSpace(c.Channel) == "" {
			v.Add("channel", "is required with token: a channel name such as #alerts, or its id such as C0123456789")
		}
	}
	if c.Secret != "" {
		v.Add("secret", "is only used by webhook channels")
	}
	return v.Err()
}

// httpURL reports whether s is an absolute http(s) URL with a host.
func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func sendSlack(ctx context.Context, d *Dispatcher, c uptime.Channel, m message) (result, error) {
	text, blocks := slackRender(m)
	if c.URL != "" {
		msg := &slack.WebhookMessage{Text: text, Blocks: &slack.Blocks{BlockSet: blocks}}
		if err := slack.PostWebhookCustomHTTPContext(ctx, c.URL.Reveal(), d.http, msg); err != nil {
			return result{}, slackError("slack incoming webhook", err)
		}
		return result{}, nil
	}
	opts := []slack.Option{slack.OptionHTTPClient(d.http)}
	// The channel's own api_url comes first, then the dispatcher's.
	if base := cmp.Or(c.APIURL, d.cfg.SlackAPIURL); base != "" {
		opts = append(opts, slack.OptionAPIURL(strings.TrimRight(base, "/")+"/"))
	}
	api := slack.New(c.Token.Reveal(), opts...)
	parent, grouped := strings.CutSuffix(m.Thread, groupSuffix)
	msgOpts := []slack.MsgOption{slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...)}
	reply := parent != "" && (m.Type == uptime.EventIncidentReminder || m.Type == uptime.EventIncidentResolved)
	if reply {
		msgOpts = append(msgOpts, slack.MsgOptionTS(parent))
	}
	channelID, ts, err := api.PostMessageContext(ctx, c.Channel, msgOpts...)
	if err != nil {
		return result{}, slackError("slack chat.postMessage", err)
	}
	if reply && !grouped && m.Type == uptime.EventIncidentResolved {
		// The reply is what matters; a failed update is only logged, so
		// that a retry does not post the reply twice. chat.update takes
		// the channel's id, which the post answered with, not its name.
		if channelID == "" {
			channelID = c.Channel
		}
		ut, ub := slackResolvedParent(m)
		if _, _, _, err := api.UpdateMessageContext(ctx, channelID, parent, slack.MsgOptionText(ut, false), slack.MsgOptionBlocks(ub...)); err != nil {
			d.log.Warn("update slack opening", "channel", c.Name, "err", safeError(slackError("slack chat.update", err), c))
		}
	}
	if m.Type == uptime.EventIncidentOpened && ts != "" {
		if m.grouped() {
			ts += groupSuffix
		}
		return result{Thread: ts}, nil
	}
	return result{}, nil
}

// slackError describes a Slack failure from what is known not to be
// secret: the library's typed errors, or the network error without its URL.
func slackError(what string, err error) error {
	var (
		rl *slack.RateLimitedError
		sc slack.StatusCodeError
		sr slack.SlackErrorResponse
	)
	msg := ""
	switch {
	case errors.As(err, &rl):
		msg = fmt.Sprintf("rate limited, retry after %s", rl.RetryAfter)
	case errors.As(err, &sc):
		msg = fmt.Sprintf("answered %d %s", sc.Code, strings.TrimSpace(strings.TrimPrefix(sc.Status, fmt.Sprint(sc.Code))))
	case errors.As(err, &sr):
		msg = "slack said " + sr.Err
	default:
		msg = netError(err)
	}
	return &sendError{msg: what + ": " + msg, err: err}
}

// slackRender returns a message's fallback text, escaped like the
// blocks' mrkdwn, and its Block Kit blocks.
func slackRender(m message) (string, []slack.Block) {
	text, blocks := slackCompose(m)
	return esc(text), blocks
}

func slackCompose(m message) (string, []slack.Block) {
	if m.grouped() {
		switch {
		case m.Cause != "" && (m.Type == uptime.EventIncidentOpened || m.Type == uptime.EventIncidentReminder):
			return slackCauseOpened(m)
		case m.Cause != "" && m.Type == uptime.EventIncidentResolved:
			return slackCauseResolved(m)
		case m.Type == uptime.EventIncidentOpened:
			return slackGrouped(m)
		}
	}
	e := m.first()
	// A message of one target ends with a button to it; a test, with
	// one to the dashboard's home.
	var (
		text   string
		blocks []slack.Block
		button = link(m.eventURL(e), "Open in Lookout")
	)
	switch m.Type {
	case uptime.EventIncidentOpened:
		text = fmt.Sprintf("🔴 %s is down since %s", e.Target, clock(since(e)))
		if e.Error != "" {
			text += ": " + e.Error
		}
		blocks = append([]slack.Block{
			header(fmt.Sprintf("🔴 %s is down", e.Target)),
			mrkdwn(fmt.Sprintf("*%s* has been down since %s (%s).", esc(e.Target), clock(since(e)), human(e.Duration()))),
		}, details(e)...)
	case uptime.EventIncidentReminder:
		text = fmt.Sprintf("🔴 %s is still down, for %s", e.Target, human(e.Duration()))
		blocks = append([]slack.Block{
			header(fmt.Sprintf("🔴 %s is still down", e.Target)),
			mrkdwn(fmt.Sprintf("*%s* has been down for *%s*, since %s.", esc(e.Target), human(e.Duration()), clock(since(e)))),
		}, details(e)...)
	case uptime.EventIncidentResolved:
		text = fmt.Sprintf("✅ %s is back up after %s", e.Target, human(e.Duration()))
		blocks = []slack.Block{
			header(fmt.Sprintf("✅ %s is back up", e.Target)),
			mrkdwn(fmt.Sprintf("*%s* was down for *%s*, from %s to %s.", esc(e.Target), human(e.Duration()), clock(since(e)), clock(e.At))),
		}
	case uptime.EventFlapping:
		text = fmt.Sprintf("⚠️ %s is flapping: its status has changed often since %s; its alerts are held until it is stable", e.Target, clock(since(e)))
		blocks = []slack.Block{mrkdwn(fmt.Sprintf("⚠️ *%s* is flapping: its status has changed often since %s. Its alerts are held until it is stable.", esc(e.Target), clock(since(e))))}
	case uptime.EventStable:
		text = fmt.Sprintf("✅ %s is stable again", e.Target)
		blocks = []slack.Block{mrkdwn(fmt.Sprintf("✅ *%s* is stable again (since %s); its alerts are sent as usual.", esc(e.Target), clock(e.At)))}
	case uptime.EventCertExpiring:
		text = fmt.Sprintf("🔒 %s: %s", e.Target, uptime.CertExpiryText(e.Since, e.At))
		blocks = []slack.Block{
			header(fmt.Sprintf("🔒 %s's certificate is expiring", e.Target)),
			mrkdwn(fmt.Sprintf("The TLS certificate of *%s* expires at %s, *%s* from now. Renew it before then: an expired certificate fails every check.",
				esc(e.Target), clock(e.Since), human(e.Since.Sub(e.At)))),
		}
	case uptime.EventSLOBurn, uptime.EventSLORecovered:
		if e.SLO == nil {
			text = fmt.Sprintf("%s: %s", m.Type, e.Target)
			return text, []slack.Block{mrkdwn(esc(text))}
		}
		text, blocks = slackSLO(e)
	case uptime.EventChannelTest:
		text = fmt.Sprintf("👋 Test message from Lookout for channel %s", m.Channel)
		blocks = []slack.Block{mrkdwn(fmt.Sprintf("👋 This is a test message from Lookout for channel *%s*. Alerts will arrive here.", esc(m.Channel)))}
		button = link(m.dashboardURL(), "Open Lookout")
	default:
		text = fmt.Sprintf("%s: %s", m.Type, e.Target)
		return text, []slack.Block{mrkdwn(esc(text))}
	}
	return text, append(blocks, button...)
}

// slackSLO is a burn-rate alert, or its recovery.
func slackSLO(e uptime.Event) (string, []slack.Block) {
	b := e.SLO
	long := fmt.Sprintf("%s× over %s", rate(b.Long.Rate), human(b.Long.Window.D()))
	short := fmt.Sprintf("%s× over %s", rate(b.Short.Rate), human(b.Short.Window.D()))
	if e.Type == uptime.EventSLOBurn {
		icon := "⚠️"
		if b.Severity == uptime.SeverityPage {
			icon = "🔥"
		}
		text := fmt.Sprintf("%s %s is burning its error budget: %s, %s (%s above %s×, objective %s)",
			icon, e.Target, long, short, b.Severity, rate(b.Threshold), percent(b.Objective))
		blocks := []slack.Block{
			header(fmt.Sprintf("%s %s is burning its error budget (%s)", icon, e.Target, b.Severity)),
			mrkdwn(fmt.Sprintf("*%s* fails faster than its %s objective allows: its error budget burns *%s×* as fast as it can afford over the last %s, and *%s×* over the last %s (%s above %s×).",
				esc(e.Target), percent(b.Objective), rate(b.Long.Rate), human(b.Long.Window.D()),
				rate(b.Short.Rate), human(b.Short.Window.D()), esc(b.Severity), rate(b.Threshold))),
		}
		if b.Long.Rate > 0 {
			blocks = append(blocks, mrkdwn(fmt.Sprintf("The last %s used *%s* of a %d-day error budget; at this rate the whole budget lasts *%s*.",
				human(b.Long.Window.D()), percent(b.BudgetSpent), uptime.BudgetPeriod/(24*time.Hour),
				human(time.Duration(float64(uptime.BudgetPeriod)/b.Long.Rate)))))
		}
		return text, blocks
	}
	if b.Threshold == 0 {
		text := fmt.Sprintf("✅ %s's %s burn-rate alert ended: its objective or that alert was removed", e.Target, b.Severity)
		return text, []slack.Block{
			header(fmt.Sprintf("✅ %s's %s burn-rate alert ended", e.Target, b.Severity)),
			mrkdwn(fmt.Sprintf("The %s burn-rate alert of *%s*, firing since %s, ends: the target's objective or that alert was removed.",
				esc(b.Severity), esc(e.Target), clock(since(e)))),
		}
	}
	text := fmt.Sprintf("✅ %s's error budget burn is back under %s× (%s): %s, %s", e.Target, rate(b.Threshold), b.Severity, short, long)
	return text, []slack.Block{
		header(fmt.Sprintf("✅ %s's error budget burn is back under %s× (%s)", e.Target, rate(b.Threshold), b.Severity)),
		mrkdwn(fmt.Sprintf("*%s* no longer burns its error budget above %s×: *%s×* over the last %s (%s× over the last %s). The %s alert fired for *%s*, from %s to %s.",
			esc(e.Target), rate(b.Threshold), rate(b.Short.Rate), human(b.Short.Window.D()), rate(b.Long.Rate), human(b.Long.Window.D()),
			esc(b.Severity), human(e.Duration()), clock(since(e)), clock(e.At))),
	}
}

// rate is a burn rate for people: "20.4", "36", "1000".
func rate(x float64) string { return strconv.FormatFloat(math.Round(x*10)/10, 'f', -1, 64) }

// percent is a fraction as a percentage for people: "99.9%", "2.83%".
func percent(x float64) string {
	return strconv.FormatFloat(math.Round(x*1e6)/1e4, 'f', -1, 64) + "%"
}

// maxGroupLines caps the targets listed in a grouped message; Slack
// refuses a section over 3000 characters.
const maxGroupLines = 20

// slackGrouped is one message for openings with no cause in common.
func slackGrouped(m message) (string, []slack.Block) {
	lines := slackLines(m, m.Events, func(e uptime.Event) string { return slackDownLine(m, e) })
	text := fmt.Sprintf("🔴 %d targets are down: %s", len(m.Events), uptime.Truncate(targetList(m.Events), 500))
	blocks := []slack.Block{
		header(fmt.Sprintf("🔴 %d targets are down", len(m.Events))),
		mrkdwn(uptime.Truncate(strings.Join(lines, "\n"), 2900)),
	}
	return text, append(blocks, link(m.dashboardURL(), "Open Lookout")...)
}

// slackDownLine is a down target's line in a list: its name, since when,
// and its error, short.
func slackDownLine(m message, e uptime.Event) string {
	line := fmt.Sprintf("• %s since %s", slackName(m, e.Target), clock(since(e)))
	if e.Error != "" {
		line += ": " + esc(uptime.Truncate(classed(e), 100))
	}
	return line
}

// slackCauseOpened is one message for a cause and the dependents it took
// down: "postgres-main down — 10 dependents affected"; a reminder of them
// says "still down".
func slackCauseOpened(m message) (string, []slack.Block) {
	own, deps := m.byCause()
	title := fmt.Sprintf("🔴 %s down — %s affected", m.Cause, dependents(len(deps)))
	if m.Type == uptime.EventIncidentReminder {
		title = fmt.Sprintf("🔴 %s still down — %s affected", m.Cause, dependents(len(deps)))
	}
	var first string
	if own != nil {
		first = fmt.Sprintf("%s has been down since %s", slackName(m, own.Target), clock(since(*own)))
		if own.Error != "" {
			first += ": " + esc(uptime.Truncate(classed(*own), 200))
		}
	} else {
		first = fmt.Sprintf("*Probable cause*: *%s*, reported failing by its dependents.", esc(m.Cause))
	}
	lines := slackLines(m, deps, func(e uptime.Event) string { return slackDownLine(m, e) })
	blocks := []slack.Block{
		header(title),
		mrkdwn(uptime.Truncate(first, 2900)),
		mrkdwn(uptime.Truncate("*Affected dependents*\n"+strings.Join(lines, "\n"), 2900)),
	}
	return title + ": " + uptime.Truncate(targetList(deps), 500), append(blocks, link(m.dashboardURL(), "Open Lookout")...)
}

// slackCauseResolved is one message for a cause's recovery and its
// dependents'.
func slackCauseResolved(m message) (string, []slack.Block) {
	own, deps := m.byCause()
	title := fmt.Sprintf("✅ %s recovered — %s back up", m.Cause, dependents(len(deps)))
	blocks := []slack.Block{header(title)}
	if own != nil {
		blocks = append(blocks, mrkdwn(fmt.Sprintf("%s was down for *%s*, from %s to %s.",
			slackName(m, own.Target), human(own.Duration()), clock(since(*own)), clock(own.At))))
	}
	lines := slackLines(m, deps, func(e uptime.Event) string {
		return fmt.Sprintf("• %s was down for %s, until %s", slackName(m, e.Target), human(e.Duration()), clock(e.At))
	})
	blocks = append(blocks, mrkdwn(uptime.Truncate("*Recovered dependents*\n"+strings.Join(lines, "\n"), 2900)))
	return title + ": " + uptime.Truncate(targetList(deps), 500), append(blocks, link(m.dashboardURL(), "Open Lookout")...)
}

// dependents is "1 dependent" or "10 dependents".
func dependents(n int) string {
	if n == 1 {
		return "1 dependent"
	}
	return fmt.Sprintf("%d dependents", n)
}

// targetList is "a, b, c".
func targetList(evs []uptime.Event) string {
	names := make([]string, len(evs))
	for i, e := range evs {
		names[i] = e.Target
	}
	return strings.Join(names, ", ")
}

// slackName is a target's name in mrkdwn, linked to the dashboard.
func slackName(m message, name string) string {
	if u := m.targetURL(name); u != "" {
		return fmt.Sprintf("<%s|%s>", u, esc(name))
	}
	return "*" + esc(name) + "*"
}

// slackLines renders up to maxGroupLines events, then how many more.
func slackLines(m message, evs []uptime.Event, line func(uptime.Event) string) []string {
	var lines []string
	for i, e := range evs {
		if i == maxGroupLines {
			lines = append(lines, fmt.Sprintf("…and %d more", len(evs)-maxGroupLines))
			break
		}
		lines = append(lines, line(e))
	}
	return lines
}

// slackResolvedParent is what a bot's opening turns into once resolved.
func slackResolvedParent(m message) (string, []slack.Block) {
	e := m.first()
	text := esc(fmt.Sprintf("✅ %s was down for %s (resolved)", e.Target, human(e.Duration())))
	blocks := []slack.Block{
		mrkdwn(fmt.Sprintf("✅ ~%s is down~ *resolved*: down for *%s*, from %s to %s.", esc(e.Target), human(e.Duration()), clock(since(e)), clock(e.At))),
	}
	return text, append(blocks, link(m.eventURL(e), "Open in Lookout")...)
}

// details are the error, failing components and cause of an event.
func details(e uptime.Event) []slack.Block {
	var out []slack.Block
	if e.Error != "" {
		out = append(out, mrkdwn("*Error*"+classNote(e)+"\n```"+esc(uptime.Truncate(strings.ReplaceAll(e.Error, "```", "'''"), 1000))+"```"))
	}
	if len(e.Components) > 0 {
		var lines []string
		for i, c := range e.Components {
			if i == 10 {
				lines = append(lines, fmt.Sprintf("…and %d more", len(e.Components)-10))
				break
			}
			line := "• *" + esc(c.Name) + "*"
			if c.Output != "" {
				line += ": " + esc(uptime.Truncate(c.Output, 200))
			}
			lines = append(lines, line)
		}
		out = append(out, mrkdwn("*Failing components*\n"+strings.Join(lines, "\n")))
	}
	if e.Cause != "" {
		out = append(out, mrkdwn("*Probable cause*: "+esc(e.Cause)))
	}
	return out
}

func classNote(e uptime.Event) string {
	if e.ErrorClass == uptime.ClassNone {
		return ""
	}
	return " (" + e.ErrorClass.String() + ")"
}

// classed is "timeout: dial tcp …" or the bare error.
func classed(e uptime.Event) string {
	if e.ErrorClass == uptime.ClassNone {
		return e.Error
	}
	return e.ErrorClass.String() + ": " + e.Error
}

func header(s string) slack.Block {
	return slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, uptime.Truncate(s, 150), true, false))
}

func mrkdwn(s string) slack.Block {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, s, false, false), nil, nil)
}

// link is a button to the dashboard, or nothing without one.
func link(u, label string) []slack.Block {
	if u == "" {
		return nil
	}
	b := slack.NewButtonBlockElement("open", "open", slack.NewTextBlockObject(slack.PlainTextType, label, false, false)).WithURL(u)
	return []slack.Block{slack.NewActionBlock("links", b)}
}

// esc escapes the three characters Slack's mrkdwn treats as markup.
func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
