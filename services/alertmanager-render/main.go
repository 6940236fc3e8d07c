// Command alertmanager-render loads an Alertmanager configuration and its template files with the real
// Alertmanager packages, routes and groups the given alerts the way the dispatcher does, and prints what
// each SNS receiver would publish (subject, message, attributes). Tests use it to check the configuration
// the CDK stack hands Amazon Managed Service for Prometheus without an AWS account.
//
// Input (stdin, JSON): {"alertmanagerConfig": "<yaml>", "templateFiles": {"<name>": "<text>"},
// "externalURL": "<the alert manager's URL, .ExternalURL in templates>", "alerts": [{"labels": {}, "annotations": {}, "startsAt": "<RFC 3339>", "endsAt": "<RFC 3339>"}]}.
// An alert whose endsAt is in the past is resolved, as in Alertmanager.
//
// Output (stdout, JSON): {"notifications": [{"receiver", "groupLabels", "alertCount", "sns": [{"topicArn",
// "subject", "message", "attributes"}]}]}. A configuration or template error exits 1 with the reason.
package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/prometheus/alertmanager/config"
	"github.com/prometheus/alertmanager/dispatch"
	"github.com/prometheus/alertmanager/notify"
	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/alertmanager/types"
	"github.com/prometheus/common/model"
)

type input struct {
	AlertmanagerConfig string            `json:"alertmanagerConfig"`
	TemplateFiles      map[string]string `json:"templateFiles"`
	ExternalURL        string            `json:"externalURL"`
	Alerts             []inputAlert      `json:"alerts"`
}

type inputAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
}

type notification struct {
	Receiver    string            `json:"receiver"`
	GroupLabels map[string]string `json:"groupLabels"`
	AlertCount  int               `json:"alertCount"`
	SNS         []snsPublish      `json:"sns"`
}

type snsPublish struct {
	TopicARN   string            `json:"topicArn"`
	Subject    string            `json:"subject"`
	Message    string            `json:"message"`
	Attributes map[string]string `json:"attributes"`
}

type group struct {
	route  *dispatch.Route
	labels model.LabelSet
	alerts types.AlertSlice
}

func main() {
	out, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "alertmanager-render:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "alertmanager-render:", err)
		os.Exit(1)
	}
}

func run() (map[string][]notification, error) {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		return nil, fmt.Errorf("reading the input: %w", err)
	}
	conf, err := config.Load(in.AlertmanagerConfig)
	if err != nil {
		return nil, fmt.Errorf("alertmanager_config: %w", err)
	}
	tmpl, err := loadTemplates(in.TemplateFiles)
	if err != nil {
		return nil, err
	}
	if tmpl.ExternalURL, err = url.Parse(in.ExternalURL); err != nil {
		return nil, fmt.Errorf("externalURL: %w", err)
	}
	receivers := map[string]*config.Receiver{}
	for i := range conf.Receivers {
		receivers[conf.Receivers[i].Name] = &conf.Receivers[i]
	}
	var out []notification
	for _, g := range groupAlerts(dispatch.NewRoute(conf.Route, nil), in.Alerts) {
		n, err := render(tmpl, receivers[g.route.RouteOpts.Receiver], g)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return map[string][]notification{"notifications": out}, nil
}

// loadTemplates writes AMP's template_files to disk and loads them as Alertmanager loads `templates:` globs.
func loadTemplates(files map[string]string) (*template.Template, error) {
	dir, err := os.MkdirTemp("", "alertmanager-templates-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(name)), []byte(text), 0o600); err != nil {
			return nil, err
		}
	}
	tmpl, err := template.FromGlobs([]string{filepath.Join(dir, "*")})
	if err != nil {
		return nil, fmt.Errorf("template_files: %w", err)
	}
	return tmpl, nil
}

// groupAlerts puts each alert in the aggregation group of every route it matches, keyed as the dispatcher
// keys them (route and group labels), in first-seen order, with the alerts sorted as a flush sorts them.
func groupAlerts(root *dispatch.Route, alerts []inputAlert) []*group {
	var groups []*group
	byKey := map[string]*group{}
	for _, a := range alerts {
		alert := &types.Alert{Alert: model.Alert{
			Labels:      labelSet(a.Labels),
			Annotations: labelSet(a.Annotations),
			StartsAt:    a.StartsAt,
			EndsAt:      a.EndsAt,
		}}
		for _, route := range root.Match(alert.Labels) {
			labels := groupLabels(alert.Labels, route)
			key := route.Key() + ":" + labels.Fingerprint().String()
			g, ok := byKey[key]
			if !ok {
				g = &group{route: route, labels: labels}
				byKey[key] = g
				groups = append(groups, g)
			}
			g.alerts = append(g.alerts, alert)
		}
	}
	for _, g := range groups {
		sort.Stable(g.alerts)
	}
	return groups
}

func groupLabels(labels model.LabelSet, route *dispatch.Route) model.LabelSet {
	if route.RouteOpts.GroupByAll {
		return labels.Clone()
	}
	grouped := model.LabelSet{}
	for name := range route.RouteOpts.GroupBy {
		if value, ok := labels[name]; ok {
			grouped[name] = value
		}
	}
	return grouped
}

// render expands each SNS config's fields with notify.TmplText, as the SNS notifier does before publishing.
func render(tmpl *template.Template, receiver *config.Receiver, g *group) (notification, error) {
	if receiver == nil {
		return notification{}, fmt.Errorf("route names receiver %q, which is not configured", g.route.RouteOpts.Receiver)
	}
	data := tmpl.Data(receiver.Name, g.labels, g.alerts...)
	n := notification{Receiver: receiver.Name, GroupLabels: map[string]string{}, AlertCount: len(g.alerts)}
	for name, value := range g.labels {
		n.GroupLabels[string(name)] = string(value)
	}
	for _, sns := range receiver.SNSConfigs {
		var err error
		expand := notify.TmplText(tmpl, data, &err)
		published := snsPublish{
			TopicARN:   expand(sns.TopicARN),
			Message:    expand(sns.Message),
			Attributes: map[string]string{},
		}
		if sns.Subject != "" {
			published.Subject = expand(sns.Subject)
		}
		for key, value := range sns.Attributes {
			published.Attributes[expand(key)] = expand(value)
		}
		if err != nil {
			return notification{}, fmt.Errorf("receiver %s: %w", receiver.Name, err)
		}
		n.SNS = append(n.SNS, published)
	}
	return n, nil
}

func labelSet(m map[string]string) model.LabelSet {
	set := model.LabelSet{}
	for k, v := range m {
		set[model.LabelName(k)] = model.LabelValue(v)
	}
	return set
}
