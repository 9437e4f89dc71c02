variable "name_prefix" {
  description = "Prefix of every resource name, e.g. fxtrue-dev."
  type        = string
}

variable "release_label" {
  description = "EMR release (7.x: Java 17 by default, YARN for the project's own Spark 4 runtime)."
  type        = string
  default     = "emr-7.12.0"
}

variable "primary_instance_type" {
  description = "Instance type of the primary node."
  type        = string
  default     = "m7i.xlarge"
}

variable "core_instance_type" {
  description = "Instance type of the core nodes."
  type        = string
  default     = "r7i.xlarge"
}

variable "core_instance_count" {
  description = "Number of core nodes."
  type        = number
  default     = 3
}

variable "core_volume_size_gb" {
  description = "EBS volume size of each core node, in GiB (HDFS, shuffle)."
  type        = number
  default     = 128
}

variable "subnet_id" {
  description = "Private subnet of the cluster (an EMR cluster lives in one AZ)."
  type        = string
}

variable "primary_security_group_id" {
  description = "EMR-managed security group of the primary node."
  type        = string
}

variable "core_security_group_id" {
  description = "EMR-managed security group of the core nodes."
  type        = string
}

variable "service_security_group_id" {
  description = "EMR service-access security group (required in private subnets)."
  type        = string
}

variable "service_role_arn" {
  description = "EMR service role ARN."
  type        = string
}

variable "instance_profile_arn" {
  description = "Instance profile ARN of the nodes."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for S3, local disks, EBS and log encryption."
  type        = string
}

variable "artifacts_bucket" {
  description = "Bucket holding the bootstrap script, wheels, jars and certificates."
  type        = string
}

variable "logs_bucket" {
  description = "Bucket receiving EMR logs under emr/."
  type        = string
}

variable "app_environment" {
  description = "Non-secret FXTRUE_* settings written to /etc/fxtrue/env on every node."
  type        = map(string)
}

variable "app_secret_arns" {
  description = "FXTRUE_* variable name -> Secrets Manager ARN, resolved by fxtrue-run at process start."
  type        = map(string)
}

variable "cassandra_ca_pem" {
  description = "PEM of the CA that signed the Cassandra node certificate."
  type        = string
}

variable "termination_protection" {
  description = "Protect the cluster against accidental termination."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags applied to every resource of the module."
  type        = map(string)
  default     = {}
}
