variable "name_prefix" {
  description = "Prefix of every resource name, e.g. fxtrue-dev."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key encrypting the SNS topic."
  type        = string
}

variable "alarm_emails" {
  description = "E-mail addresses subscribed to the alarm topic (each must confirm the subscription)."
  type        = list(string)
  default     = []
}

variable "kafka_cluster_name" {
  description = "MSK cluster name (metric dimension \"Cluster Name\")."
  type        = string
}

variable "consumer_group" {
  description = "Kafka consumer group whose lag is watched (the streaming job's group id)."
  type        = string
  default     = "fxtrue-stream"
}

variable "ticks_topic" {
  description = "Topic whose consumer lag is watched."
  type        = string
  default     = "fx.ticks"
}

variable "consumer_lag_threshold" {
  description = "Maximum offset lag (messages) tolerated for 5 minutes."
  type        = number
  default     = 50000
}

variable "metric_namespace" {
  description = "Namespace of the custom heartbeat metric."
  type        = string
  default     = "FXTrue"
}

variable "heartbeat_jobs" {
  description = "Jobs with a heartbeat alarm (values of the Job dimension)."
  type        = list(string)
  default     = ["producer", "streaming"]
}

variable "heartbeat_max_age_seconds" {
  description = "Heartbeat age above which a job counts as dead (matches the supervisor's stale limit)."
  type        = number
  default     = 90
}

variable "cassandra_instance_ids" {
  description = "Instance ids of the Cassandra nodes (auto-recovery alarms)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags applied to every resource of the module."
  type        = map(string)
  default     = {}
}
