{{- define "egress.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "egress.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "egress.labels" -}}
{{ include "egress.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "egress.secretName" -}}
{{- .Values.existingSecret | default (include "egress.fullname" .) -}}
{{- end -}}

{{/* The service config with the ports the pod exposes; required keys fail the render with their name. */}}
{{- define "egress.config" -}}
{{- $c := deepCopy .Values.config -}}
{{- $_ := required "config.api_key is required" $c.api_key -}}
{{- $_ := required "config.api_secret is required" $c.api_secret -}}
{{- $_ := required "config.ws_url is required" $c.ws_url -}}
{{- $_ := required "config.redis.address is required" (($c.redis | default dict).address) -}}
{{- $_ := set $c "health_port" (int .Values.ports.health) -}}
{{- $_ := set $c "prometheus_port" (int .Values.ports.metrics) -}}
{{- toYaml $c -}}
{{- end -}}
