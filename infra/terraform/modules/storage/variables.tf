variable "name_prefix" {
  description = "Prefix of every resource name, e.g. fxtrue-dev."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the KMS key used for default encryption of the data buckets."
  type        = string
}

variable "log_retention_days" {
  description = "Days after which objects in the logs bucket expire."
  type        = number
  default     = 365
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete non-empty buckets (dev only; never for the prod lake)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags applied to every resource of the module."
  type        = map(string)
  default     = {}
}
