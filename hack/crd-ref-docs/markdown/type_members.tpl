{{- /* Text of a doc comment or rule message, for a table cell or a paragraph: one line,
       with the characters Markdown would take for a table border or an HTML tag escaped. */ -}}
{{- define "text" -}}
{{- . | trim | replace "\n" " " | replace "|" "\\|" | replace "<" "&lt;" | replace ">" "&gt;" -}}
{{- end -}}

{{- define "doc" -}}
{{- template "text" . -}}
{{- end -}}

{{- define "fieldDoc" -}}
{{- if eq .Name "metadata" -}}
Standard object metadata; these kinds are cluster-scoped, so no namespace.
{{- else -}}
{{- template "text" .Doc -}}
{{- end -}}
{{- end -}}

{{- /* A field's type. A ResourceList is a map from resource name to quantity. */ -}}
{{- define "fieldType" -}}
{{- if eq .Name "ResourceList" -}}
map of resource name to [Quantity](https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/)
{{- else -}}
{{- markdownRenderType . -}}
{{- end -}}
{{- end -}}

{{- /* A field's validation markers in words, and the messages of its CEL rules. */ -}}
{{- define "validation" -}}
{{- $parts := list -}}
{{- $optional := false -}}
{{- range .Validation -}}
{{- $prefix := "" -}}
{{- $v := . -}}
{{- if hasPrefix "items:" $v }}{{ $prefix = "each item " }}{{ $v = trimPrefix "items:" $v }}{{ end -}}
{{- if hasPrefix "Optional" $v -}}
{{- $optional = true -}}
{{- else if or (hasPrefix "Required" $v) (hasPrefix "XValidation" $v) -}}
{{- else if hasPrefix "Enum: [" $v -}}
{{- $parts = append $parts (printf "%sone of `%s`" $prefix ($v | trimPrefix "Enum: [" | trimSuffix "]" | splitList " " | join "`, `")) -}}
{{- else -}}
{{- $v = regexReplaceAll "^Min(Length|Items): 1$" $v "not empty" -}}
{{- $v = regexReplaceAll "^MaxLength: (.*)$" $v "at most $1 characters" -}}
{{- $v = regexReplaceAll "^MinLength: (.*)$" $v "at least $1 characters" -}}
{{- $v = regexReplaceAll "^MaxItems: (.*)$" $v "at most $1 items" -}}
{{- $v = regexReplaceAll "^MinItems: (.*)$" $v "at least $1 items" -}}
{{- $v = regexReplaceAll "^Maximum: (.*)$" $v "at most $1" -}}
{{- $v = regexReplaceAll "^Minimum: (.*)$" $v "at least $1" -}}
{{- $v = regexReplaceAll "^Pattern: (.*)$" $v "matches $1" -}}
{{- $parts = append $parts (printf "%s%s" $prefix ($v | replace "|" "\\|")) -}}
{{- end -}}
{{- end -}}
{{- if and (not $optional) (ne .Name "metadata") }}{{ $parts = prepend $parts "required" }}{{ end -}}
{{- range (index .Markers "kubebuilder:validation:items:XValidation") -}}
{{- $parts = append $parts (printf "each item: %s" (.Message | replace "|" "\\|" | replace "<" "&lt;" | replace ">" "&gt;")) -}}
{{- end -}}
{{- join "; " $parts -}}
{{- end -}}
