{{- /* One group version: its kinds first, then the types they are made of, by name. */ -}}
{{- define "gvDetails" -}}
{{- $gv := . -}}
## {{ $gv.GroupVersionString }}

{{ template "doc" $gv.Doc }}

| Kind | Scope | Short names | Categories |
| --- | --- | --- | --- |
{{- range $gv.SortedKinds }}
{{- $t := $gv.TypeForKind . }}
{{- if $t }}
{{- range (index $t.Markers "kubebuilder:resource") }}
| {{ markdownRenderTypeLink $t }} | {{ .Scope }} | `{{ join "`, `" .ShortName }}` | `{{ join "`, `" .Categories }}` |
{{- end }}
{{- end }}
{{- end }}
{{ range $gv.SortedTypes }}{{ if .GVK }}{{ template "type" . }}{{ end }}{{ end }}
{{- range $gv.SortedTypes }}{{ if not .GVK }}{{ template "type" . }}{{ end }}{{ end }}
{{- end -}}

