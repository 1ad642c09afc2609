{{- /* One type: its description, rules, where it is used, and its fields or values. */ -}}
{{- define "type" -}}
{{- $type := . -}}
{{- if markdownShouldRenderType $type }}
### {{ $type.Name }}

{{ template "doc" $type.Doc }}
{{- if $type.IsAlias }}

Type: {{ markdownRenderType $type.UnderlyingType }}
{{- if $type.EnumValues }}, one of {{ range $i, $v := $type.EnumValues }}{{ if $i }}, {{ end }}`{{ $v.Name }}`{{ end }}.{{ end }}
{{- end }}
{{- with (index $type.Markers "kubebuilder:validation:XValidation") }}

Rules checked when the object is applied:
{{ range . }}
- {{ template "text" .Message }}
{{- end }}
{{- end }}
{{- with (index $type.Markers "kubebuilder:printcolumn") }}

`kubectl get` columns: {{ range $i, $c := . }}{{ if $i }}, {{ end }}{{ $c.Name }} (`{{ $c.JSONPath }}`){{ end }}.
{{- end }}
{{- if $type.References }}

Used in: {{ range $i, $r := $type.SortedReferences }}{{ if $i }}, {{ end }}{{ markdownRenderTypeLink $r }}{{ end }}.
{{- end }}
{{- if $type.Members }}

| Field | Type | Description | Default | Validation |
| --- | --- | --- | --- | --- |
{{- if $type.GVK }}
| `apiVersion` | string | `{{ $type.GVK.Group }}/{{ $type.GVK.Version }}` | | required |
| `kind` | string | `{{ $type.GVK.Kind }}` | | required |
{{- end }}
{{- range $type.Members }}
| `{{ .Name }}` | {{ template "fieldType" .Type }} | {{ template "fieldDoc" . }} | {{ with .Default }}`{{ . }}`{{ end }} | {{ template "validation" . }} |
{{- end }}
{{- end }}
{{ end -}}
{{- end -}}
