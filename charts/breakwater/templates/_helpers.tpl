{{/* Chart name, at most 63 characters. */}}
{{- define "breakwater.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name, at most 63 characters. */}}
{{- define "breakwater.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Common labels. */}}
{{- define "breakwater.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "breakwater.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
"auto" / "true" / "false" switch of an optional resource: "auto" renders it only when the cluster
serves its API. Call with (dict "on" VALUE "api" "group/version/Kind" "root" $).
*/}}
{{- define "breakwater.enabled" -}}
{{- $on := toString .on }}
{{- if or (eq $on "true") (and (eq $on "auto") (.root.Capabilities.APIVersions.Has .api)) }}true{{ end }}
{{- end }}

{{/* The chart's appVersion, also when called with a dict that carries no Chart. */}}
{{- define "breakwater.appVersion" -}}
{{- with .Chart }}{{ .AppVersion }}{{ end }}
{{- end }}

{{/* Sidecar image reference. */}}
{{- define "breakwater.image" -}}
{{- $tag := .Values.image.tag | default (include "breakwater.appVersion" .) | default "latest" }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}

{{/* The policy file as it lands in /etc/breakwater/policy.yaml (a string is taken verbatim). */}}
{{- define "breakwater.policyYaml" -}}
{{- if kindIs "string" .Values.policy.content }}
{{- .Values.policy.content }}
{{- else }}
{{- toYaml .Values.policy.content }}
{{- end }}
{{- end }}

{{/*
breakwater.sidecar renders the sidecar container as a one-item list, for `initContainers` (native
sidecar, the default) or `containers` (sidecar.native: false, clusters before 1.29).
Context: this chart's root, or from a parent chart that has breakwater as a dependency:
    initContainers:
      {{- include "breakwater.sidecar" (dict "Values" .Values.breakwater "Chart" .Subcharts.breakwater.Chart) | nindent 6 }}
Pair it with breakwater.volume (pod volumes) and breakwater.podAnnotations.
*/}}
{{- define "breakwater.sidecar" -}}
{{- $v := .Values }}
{{- $port := int $v.sidecar.healthPort -}}
- name: breakwater
  image: {{ include "breakwater.image" . | quote }}
  imagePullPolicy: {{ $v.image.pullPolicy }}
  args: [run, --config, /etc/breakwater/policy.yaml]
  {{- if $v.sidecar.native }}
  restartPolicy: Always
  {{- end }}
  {{- with $v.sidecar.env }}
  env:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  ports:
    - name: bw-health
      containerPort: {{ $port }}
      protocol: TCP
  resources:
    {{- toYaml $v.sidecar.resources | nindent 4 }}
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    runAsGroup: 65532
    allowPrivilegeEscalation: false
    readOnlyRootFilesystem: true
    capabilities:
      drop: [ALL]
    seccompProfile:
      type: RuntimeDefault
  startupProbe:
    httpGet:
      path: /healthz/startup
      port: {{ $port }}
    {{- toYaml $v.sidecar.probes.startup | nindent 4 }}
  readinessProbe:
    httpGet:
      path: /healthz/ready
      port: {{ $port }}
    {{- toYaml $v.sidecar.probes.readiness | nindent 4 }}
  livenessProbe:
    httpGet:
      path: /healthz/live
      port: {{ $port }}
    {{- toYaml $v.sidecar.probes.liveness | nindent 4 }}
  volumeMounts:
    # A directory mount (never subPath): ConfigMap updates reach the file and the sidecar reloads.
    - name: breakwater-policy
      mountPath: /etc/breakwater
      readOnly: true
{{- end }}

{{/* The pod volume holding the policy ConfigMap, as a one-item list. */}}
{{- define "breakwater.volume" -}}
- name: breakwater-policy
  configMap:
    name: {{ .Values.policy.configMapName }}
{{- end }}

{{/*
Pod template annotations: the marker `breakwater inject` also sets, and checksum/config (a policy
change through Helm rolls the pods; editing the ConfigMap alone reloads without a restart).
*/}}
{{- define "breakwater.podAnnotations" -}}
breakwater.io/injected: {{ include "breakwater.appVersion" . | default "unknown" | quote }}
checksum/config: {{ include "breakwater.policyYaml" . | sha256sum }}
{{- end }}

{{/* Name of the webhook's Deployment, Service and Certificate. */}}
{{- define "breakwater.webhookName" -}}
{{- printf "%s-webhook" (include "breakwater.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Secret with the webhook's serving certificate. */}}
{{- define "breakwater.webhookSecret" -}}
{{- if .Values.webhook.certManager.enabled }}
{{- .Values.webhook.tls.secretName | default (printf "%s-tls" (include "breakwater.webhookName" .)) }}
{{- else }}
{{- required "webhook.tls.secretName is required when webhook.certManager.enabled is false" .Values.webhook.tls.secretName }}
{{- end }}
{{- end }}

{{/* Labels selecting the webhook's pods. */}}
{{- define "breakwater.webhookSelector" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end }}
