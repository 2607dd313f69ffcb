{{/*
Name of the chart, and the full name of the resources: <release>-<chart>,
or the release name alone when it already contains the chart name.
*/}}
{{- define "pgt.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "pgt.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels of every resource. */}}
{{- define "pgt.labels" -}}
app.kubernetes.io/name: {{ include "pgt.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: pg-trickle
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* The tag of pg_trickle's image: "<major>-<appVersion>" by default; it must start with the major. */}}
{{- define "pgt.tag" -}}
{{- $tag := .Values.image.tag | default (printf "%v-%s" .Values.image.postgresqlMajor .Chart.AppVersion) -}}
{{- if not (hasPrefix (printf "%v" .Values.image.postgresqlMajor) $tag) -}}
{{- fail (printf "image.tag %q must start with image.postgresqlMajor (%v): CloudNativePG reads the PostgreSQL major version from the tag" $tag .Values.image.postgresqlMajor) -}}
{{- end -}}
{{- $tag -}}
{{- end -}}

{{/*
The Cluster's imageName: the operand image <repository>:<tag>, or with
image.extensionImage CloudNativePG's own image <baseRepository>:<major>-<baseFlavor>.
*/}}
{{- define "pgt.image" -}}
{{- if .Values.image.extensionImage.enabled -}}
{{- printf "%s:%v-%s" .Values.image.extensionImage.baseRepository .Values.image.postgresqlMajor .Values.image.extensionImage.baseFlavor -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (include "pgt.tag" .) -}}
{{- end -}}
{{- end -}}

{{/*
pg_trickle's parameters: each key of .Values.pgtrickle and the GUC it sets.
Every GUC of the extension is here and nothing else (checked against
pg_settings of a real server by cnpg/test/run_tests.sh).
*/}}
{{- define "pgt.gucs" -}}
enabled: pg_trickle.enabled
schedulerIntervalMs: pg_trickle.scheduler_interval_ms
minScheduleSeconds: pg_trickle.min_schedule_seconds
defaultScheduleSeconds: pg_trickle.default_schedule_seconds
maxConcurrentRefreshes: pg_trickle.max_concurrent_refreshes
maxConsecutiveErrors: pg_trickle.max_consecutive_errors
historyRetentionDays: pg_trickle.history_retention_days
cdcMode: pg_trickle.cdc_mode
differentialMaxChangeRatio: pg_trickle.differential_max_change_ratio
maxBufferRows: pg_trickle.max_buffer_rows
{{- end -}}

{{/* spec.postgresql.parameters of the Cluster: pg_trickle's, walCdc's, then the user's. */}}
{{- define "pgt.parameters" -}}
{{- $gucs := include "pgt.gucs" . | fromYaml -}}
{{- $params := dict -}}
{{- range $key, $guc := $gucs -}}
{{- $v := index $.Values.pgtrickle $key -}}
{{- if kindIs "bool" $v -}}
{{- $_ := set $params $guc (ternary "on" "off" $v) -}}
{{- else if and (kindIs "float64" $v) (eq $v (floor $v)) -}}
{{- /* values files give every number as float64: 3600000 must not become 3.6e+06 */ -}}
{{- $_ := set $params $guc (printf "%d" (int64 $v)) -}}
{{- else -}}
{{- $_ := set $params $guc (toString $v) -}}
{{- end -}}
{{- end -}}
{{- if .Values.walCdc.enabled -}}
{{- $_ := set $params "wal_level" "logical" -}}
{{- $_ := set $params "max_replication_slots" (printf "%d" (int64 .Values.walCdc.maxReplicationSlots)) -}}
{{- $_ := set $params "max_wal_senders" (printf "%d" (int64 .Values.walCdc.maxWalSenders)) -}}
{{- end -}}
{{- range $k, $v := .Values.postgresql.parameters -}}
{{- $_ := set $params $k (toString $v) -}}
{{- end -}}
{{- toYaml $params -}}
{{- end -}}
