variable "name_prefix" {
  description = "Prefix of every resource name, e.g. fxtrue-dev."
  type        = string
}

variable "cluster_name" {
  description = "Cassandra cluster_name."
  type        = string
  default     = "fxtrue"
}

variable "cassandra_version" {
  description = "Cassandra RPM version from the Apache 50x repository."
  type        = string
  default     = "5.0.6"
}

variable "instance_type" {
  description = "EC2 instance type of the nodes."
  type        = string
  default     = "r7i.xlarge"
}

variable "architecture" {
  description = "CPU architecture of the AMI (x86_64 or arm64); must match instance_type."
  type        = string
  default     = "x86_64"
}

variable "ami_id" {
  description = "AMI to use; empty selects the latest Amazon Linux 2023 from SSM."
  type        = string
  default     = ""
}

variable "subnet_ids" {
  description = "Private subnets, one per node, each in a different AZ."
  type        = list(string)
}

variable "node_ips" {
  description = "Fixed private IPs of the nodes (one in each subnet, same order); they are also the seeds."
  type        = list(string)
}

variable "security_group_id" {
  description = "Security group of the nodes (from the network module)."
  type        = string
}

variable "instance_profile_name" {
  description = "Instance profile of the nodes (from the iam module)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key encrypting the root and data volumes."
  type        = string
}

variable "root_volume_size_gb" {
  description = "Root volume size, in GiB."
  type        = number
  default     = 30
}

variable "data_volume_size_gb" {
  description = "Data volume size per node, in GiB."
  type        = number
  default     = 200
}

variable "data_volume_iops" {
  description = "Provisioned IOPS of each gp3 data volume."
  type        = number
  default     = 3000
}

variable "data_volume_throughput" {
  description = "Provisioned throughput of each gp3 data volume, in MiB/s."
  type        = number
  default     = 125
}

variable "cql_port" {
  description = "Native protocol (CQL) port, TLS only."
  type        = number
  default     = 9042
}

variable "storage_port" {
  description = "Internode port (TLS)."
  type        = number
  default     = 7000
}

variable "tls_secret_arn" {
  description = "Secret holding the node key, certificate and CA (JSON keys key, cert, ca)."
  type        = string
}

variable "admin_password_secret_arn" {
  description = "Secret holding the password of the superuser that replaces the default cassandra role."
  type        = string
}

variable "app_password_secret_arn" {
  description = "Secret holding the application role's password."
  type        = string
}

variable "admin_username" {
  description = "Name of the superuser created at bootstrap."
  type        = string
  default     = "fxtrue_admin"
}

variable "app_username" {
  description = "Name of the application role (FXTRUE_CASSANDRA_USERNAME)."
  type        = string
  default     = "fxtrue"
}

variable "termination_protection" {
  description = "Protect the nodes against accidental termination."
  type        = bool
  default     = true
}

variable "snapshot_retention_count" {
  description = "Number of daily data-volume snapshots kept."
  type        = number
  default     = 7
}

variable "tags" {
  description = "Tags applied to every resource of the module; must contain Project."
  type        = map(string)
}
