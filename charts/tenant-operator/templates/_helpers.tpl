{{/*
The prefix of every object's name: the release name when it already says
tenant-operator, else <release>-tenant-operator. Cut to 36 characters so that the
longest name built on it (<fullname>-controller-manager-metrics, a Service) stays within
the 63 characters of a DNS label. Release "tenant-operator" in namespace
tenant-operator-system gives the same names as dist/install.yaml.
*/}}
{{- define "tenant-operator.fullname" -}}
{{- if contains "tenant-operator" .Release.Name -}}
{{- .Release.Name | trunc 36 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-tenant-operator" .Release.Name | trunc 36 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of the manager Pods, and the selector of the Deployment and the Service. */}}
{{- define "tenant-operator.selectorLabels" -}}
app.kubernetes.io/name: tenant-operator
app.kubernetes.io/instance: {{ .Release.Name }}
control-plane: controller-manager
{{- end -}}

{{/* Labels of every object of the chart. */}}
{{- define "tenant-operator.labels" -}}
app.kubernetes.io/name: tenant-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The ServiceAccount the manager runs as. */}}
{{- define "tenant-operator.serviceAccountName" -}}
{{ include "tenant-operator.fullname" . }}-controller-manager
{{- end -}}

{{/* How the API server, and so the admission policies, name that ServiceAccount. */}}
{{- define "tenant-operator.serviceAccountUsername" -}}
system:serviceaccount:{{ .Release.Namespace }}:{{ include "tenant-operator.serviceAccountName" . }}
{{- end -}}

{{/* Name of the metrics port of the container and the Service: https, or http when
metrics.secure is off. */}}
{{- define "tenant-operator.metricsPortName" -}}
{{- if .Values.metrics.secure -}}https{{- else -}}http{{- end -}}
{{- end -}}
