{{/*
Names, labels and the pieces every workload shares. Every object of the chart takes its
labels from "depot.labels" so that `kubectl get all -l app.kubernetes.io/instance=NAME`
finds all of a release, and `-l app.kubernetes.io/component=web` one part of it.
*/}}

{{- define "depot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "depot.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A name for one part of the release, e.g. (dict "ctx" . "suffix" "web"). */}}
{{- define "depot.componentName" -}}
{{- printf "%s-%s" (include "depot.fullname" .ctx) .suffix | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels; call with (dict "ctx" . "component" "web"). */}}
{{- define "depot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "depot.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{/* All labels; call with (dict "ctx" . "component" "web"). */}}
{{- define "depot.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" }}
{{ include "depot.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: {{ .ctx.Values.partOf | default "depot" }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "depot.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- define "depot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "depot.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret pods read DATABASE_URL, REDIS_URL, DEPOT_SECRET_KEY, … from. */}}
{{- define "depot.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "depot.fullname" .) -}}
{{- end -}}

{{- define "depot.configMapName" -}}
{{- include "depot.componentName" (dict "ctx" . "suffix" "config") -}}
{{- end -}}

{{/* true when the artifact store is an S3-compatible bucket rather than the volume. */}}
{{- define "depot.s3" -}}
{{- if .Values.store.s3.enabled }}true{{ end -}}
{{- end -}}

{{- define "depot.storeUrl" -}}
{{- if .Values.store.s3.enabled -}}
{{- $bucket := required "store.s3.bucket is required when store.s3.enabled" .Values.store.s3.bucket -}}
{{- printf "s3://%s/%s" $bucket (.Values.store.s3.prefix | trimAll "/") | trimSuffix "/" -}}
{{- else -}}
file:///data/store
{{- end -}}
{{- end -}}

{{/* nginx serves zips from the volume only with a filesystem store. */}}
{{- define "depot.accelRedirect" -}}
{{- if and .Values.nginx.enabled (not .Values.store.s3.enabled) -}}
/_store/
{{- end -}}
{{- end -}}

{{/* Proxies in front of gunicorn: the nginx sidecar and the ingress controller. */}}
{{- define "depot.proxyFix" -}}
{{- if kindIs "invalid" .Values.config.proxyFix -}}
{{- add (ternary 1 0 .Values.nginx.enabled) (ternary 1 0 .Values.ingress.enabled) -}}
{{- else -}}
{{- .Values.config.proxyFix -}}
{{- end -}}
{{- end -}}

{{/*
The non-secret settings, as a YAML map of environment variables: the ConfigMap's data,
and the migration Job's env (a pre-install hook runs before the ConfigMap exists).
*/}}
{{- define "depot.configEnv" -}}
DEPOT_DATA_DIR: "/data"
DEPOT_STORE: {{ include "depot.storeUrl" . | quote }}
DEPOT_ACCEL_REDIRECT: {{ include "depot.accelRedirect" . | quote }}
DEPOT_ON_MISS: {{ .Values.config.onMiss | quote }}
DEPOT_UPSTREAM: {{ .Values.config.upstream | quote }}
DEPOT_GOSUMDB: {{ .Values.config.gosumdb | quote }}
DEPOT_LOG_FORMAT: {{ .Values.config.logFormat | quote }}
DEPOT_PROXY_FIX: {{ include "depot.proxyFix" . | quote }}
DEPOT_LICENSE_ALLOW: {{ .Values.config.licenseAllow | quote }}
DEPOT_BACKLOG_ALERT: {{ .Values.config.backlogAlert | quote }}
DEPOT_VALIDATE_BATCH: {{ .Values.config.validateBatch | quote }}
DEPOT_DRIFT_INTERVAL: {{ .Values.config.driftInterval | quote }}
DEPOT_DRIFT_SAMPLE: {{ .Values.config.driftSample | quote }}
DEPOT_FETCH_TIMEOUT: {{ .Values.config.fetchTimeout | quote }}
DEPOT_UPSTREAM_TIMEOUT: {{ .Values.config.upstreamTimeout | quote }}
DEPOT_REQUEST_LIMIT: {{ .Values.config.requestLimit | quote }}
{{- if and (ne .Values.config.anonymous "all") .Values.nginx.enabled }}
{{- fail (printf "config.anonymous=%s needs nginx.enabled=false: the sidecar answers cached .info, .mod and lists without asking Depot who is calling (docs/security.md)" .Values.config.anonymous) }}
{{- end }}
DEPOT_ANONYMOUS: {{ .Values.config.anonymous | quote }}
DEPOT_AUTH_FAILURE_LIMIT: {{ .Values.config.authFailureLimit | quote }}
DEPOT_AUDIT_RETENTION_DAYS: {{ .Values.config.auditRetentionDays | quote }}
DEPOT_OIDC_ISSUER: {{ .Values.oidc.issuer | quote }}
DEPOT_OIDC_CLIENT_ID: {{ .Values.oidc.clientId | quote }}
DEPOT_OIDC_GROUPS_CLAIM: {{ .Values.oidc.groupsClaim | quote }}
DEPOT_OIDC_ROLES: {{ .Values.oidc.roles | quote }}
DEPOT_OIDC_DEFAULT_ROLE: {{ .Values.oidc.defaultRole | quote }}
DEPOT_OIDC_SESSION_HOURS: {{ .Values.oidc.sessionHours | quote }}
DEPOT_CATALOG_REFRESH: {{ .Values.config.catalogRefresh | quote }}
{{- if and .Values.privateModules.patterns .Values.nginx.enabled }}
{{- fail "privateModules.patterns needs nginx.enabled=false: the sidecar answers cached .info, .mod and lists without asking Depot whether the caller may read a private module (docs/security.md)" }}
{{- end }}
DEPOT_PRIVATE: {{ .Values.privateModules.patterns | quote }}
{{- if and .Values.privateModules.pathRules .Values.nginx.enabled }}
{{- fail "privateModules.pathRules needs nginx.enabled=false: the sidecar answers cached files without asking Depot who may read them (docs/security.md)" }}
{{- end }}
DEPOT_PATH_RULES: {{ .Values.privateModules.pathRules | quote }}
DEPOT_PRIVATE_INSECURE: {{ .Values.privateModules.insecure | quote }}
DEPOT_PRIVATE_LICENSE: {{ .Values.privateModules.license | quote }}
{{- with .Values.privateModules }}
{{- if and .credentialsSecret .netrcKey }}
DEPOT_PRIVATE_NETRC: {{ printf "/etc/depot/private/%s" .netrcKey | quote }}
{{- end }}
{{- if and .credentialsSecret .gitconfigKey }}
DEPOT_PRIVATE_GITCONFIG: {{ printf "/etc/depot/private/%s" .gitconfigKey | quote }}
{{- end }}
{{- end }}
ELASTICSEARCH_URL: {{ .Values.config.elasticsearchUrl | quote }}
DEPOT_SEARCH_INDEX: {{ .Values.config.searchIndex | quote }}
DEPOT_SEARCH_TIMEOUT: {{ .Values.config.searchTimeout | quote }}
{{- if .Values.store.s3.enabled }}
DEPOT_S3_ENDPOINT: {{ .Values.store.s3.endpoint | quote }}
DEPOT_S3_REGION: {{ .Values.store.s3.region | quote }}
DEPOT_S3_ZIPS: {{ .Values.store.s3.zips | quote }}
DEPOT_S3_PRESIGN_TTL: {{ .Values.store.s3.presignTtl | quote }}
{{- end }}
{{- /* Go's own caches and HOME live on the writable /tmp (the root filesystem is read-only). */}}
HOME: "/tmp"
{{- range $name, $value := .Values.config.extraEnv }}
{{ $name }}: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* Pod-level security: non-root uid 1000, RuntimeDefault seccomp. */}}
{{- define "depot.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext }}
{{- end -}}

{{- define "depot.containerSecurityContext" -}}
{{- toYaml .Values.containerSecurityContext }}
{{- end -}}

{{/* envFrom shared by the app's containers: settings, then the Secret (which wins). */}}
{{- define "depot.envFrom" -}}
- configMapRef:
    name: {{ include "depot.configMapName" . }}
- secretRef:
    name: {{ include "depot.secretName" . }}
{{- end -}}

{{/*
Scheduling for one component: call with (dict "ctx" . "component" "web" "spec" .Values.web).
nodeSelector/tolerations of the component, its nodeAffinity, and a podAntiAffinity preset
("soft": preferred spreading over hosts, "hard": required, "": none) unless the component
gives a whole `affinity` of its own.
*/}}
{{- define "depot.scheduling" -}}
{{- $spec := .spec -}}
{{- with $spec.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $spec.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if $spec.affinity }}
affinity:
  {{- toYaml $spec.affinity | nindent 2 }}
{{- else if or $spec.nodeAffinity $spec.podAntiAffinity }}
affinity:
  {{- with $spec.nodeAffinity }}
  nodeAffinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if eq ($spec.podAntiAffinity | default "") "soft" }}
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "depot.selectorLabels" (dict "ctx" .ctx "component" .component) | nindent 14 }}
  {{- else if eq ($spec.podAntiAffinity | default "") "hard" }}
  podAntiAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "depot.selectorLabels" (dict "ctx" .ctx "component" .component) | nindent 12 }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* The data volume: the PVC, or an emptyDir when the store is in S3 and nothing persists. */}}
{{- define "depot.dataVolume" -}}
- name: data
  {{- if .Values.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ .Values.persistence.existingClaim | default (include "depot.fullname" .) }}
  {{- else }}
  emptyDir: {}
  {{- end }}
{{- end -}}

{{/* Metric selector for the alert rules: this release's scraped Service. */}}
{{- define "depot.metricSelector" -}}
namespace="{{ .Release.Namespace }}",service="{{ include "depot.fullname" . }}"
{{- end -}}


{{/* The private repositories' credentials (a Secret the operator made), read-only. */}}
{{- define "depot.privateMount" -}}
{{- if .Values.privateModules.credentialsSecret }}
- {name: private-credentials, mountPath: /etc/depot/private, readOnly: true}
{{- end }}
{{- end -}}

{{- define "depot.privateVolume" -}}
{{- if .Values.privateModules.credentialsSecret }}
- name: private-credentials
  secret:
    secretName: {{ .Values.privateModules.credentialsSecret }}
    defaultMode: 0440  # the pods run as a user of fsGroup, not as root
{{- end }}
{{- end -}}
