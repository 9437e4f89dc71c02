variable "environment" {
  description = "Environment name; resource names start with fxtrue-<environment>."
  type        = string
  default     = "dev"
}

variable "region" {
  description = "AWS region (also the Cassandra data center name)."
  type        = string
  default     = "eu-west-1"
}

variable "allowed_account_ids" {
  description = "AWS account ids this configuration may be applied to (empty: any)."
  type        = list(string)
  default     = []
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC."
  type        = string
  default     = "10.40.0.0/16"
}

variable "single_nat_gateway" {
  description = "One NAT gateway instead of one per AZ."
  type        = bool
  default     = true
}

variable "alb_ingress_cidrs" {
  description = "IPv4 ranges allowed to reach the dashboard on 443."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "http_redirect_cidrs" {
  description = "IPv4 ranges allowed on port 80 (redirect to HTTPS only); empty keeps port 80 closed."
  type        = list(string)
  default     = []
}

variable "certificate_arn" {
  description = "ARN of the ACM certificate (same region) for the dashboard's HTTPS listener."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of log groups and of the logs bucket, in days."
  type        = number
  default     = 365
}

variable "force_destroy" {
  description = "Allow destroy to delete non-empty buckets and the ECR repository."
  type        = bool
  default     = true
}

variable "termination_protection" {
  description = "Termination/deletion protection on Cassandra nodes, the EMR cluster and the ALB."
  type        = bool
  default     = false
}

variable "secret_recovery_window_days" {
  description = "Recovery window of deleted secrets (0: delete at once)."
  type        = number
  default     = 0
}

variable "kafka_version" {
  description = "MSK Kafka version."
  type        = string
  default     = "4.0.x.kraft"
}

variable "kafka_instance_type" {
  description = "MSK broker instance type."
  type        = string
  default     = "kafka.m7g.large"
}

variable "kafka_volume_size_gb" {
  description = "EBS storage per broker, in GiB."
  type        = number
  default     = 100
}

variable "cassandra_instance_type" {
  description = "Cassandra node instance type."
  type        = string
  default     = "m7i.large"
}

variable "cassandra_data_volume_size_gb" {
  description = "Cassandra data volume per node, in GiB."
  type        = number
  default     = 100
}

variable "cassandra_app_username" {
  description = "Cassandra role of the application (FXTRUE_CASSANDRA_USERNAME)."
  type        = string
  default     = "fxtrue"
}

variable "emr_release_label" {
  description = "EMR release."
  type        = string
  default     = "emr-7.12.0"
}

variable "emr_primary_instance_type" {
  description = "EMR primary node instance type."
  type        = string
  default     = "m7i.xlarge"
}

variable "emr_core_instance_type" {
  description = "EMR core node instance type."
  type        = string
  default     = "m7i.xlarge"
}

variable "emr_core_instance_count" {
  description = "Number of EMR core nodes."
  type        = number
  default     = 1
}

variable "mwaa_airflow_version" {
  description = "Airflow version of the MWAA environment."
  type        = string
  default     = "3.0.6"
}

variable "mwaa_environment_class" {
  description = "MWAA environment class."
  type        = string
  default     = "mw1.small"
}

variable "mwaa_max_workers" {
  description = "Maximum MWAA workers."
  type        = number
  default     = 2
}

variable "mwaa_requirements_s3_object_version" {
  description = "S3 version id of mwaa/requirements.txt in the artifacts bucket (empty before the first upload)."
  type        = string
  default     = ""
}

variable "dashboard_image_tag" {
  description = "Tag of the dashboard image pushed to the ECR repository."
  type        = string
}

variable "dashboard_username" {
  description = "Basic-auth user name of the dashboard (the password is generated into Secrets Manager)."
  type        = string
  default     = "fxtrue"
}

variable "dashboard_port" {
  description = "Port the dashboard container listens on."
  type        = number
  default     = 8050
}

variable "dashboard_host_names" {
  description = "Host names users reach the dashboard by (the certificate's names); the app answers only these and the ALB's DNS name."
  type        = list(string)
  default     = []
}

variable "dashboard_cpu" {
  description = "Fargate CPU units of a dashboard task."
  type        = number
  default     = 512
}

variable "dashboard_memory" {
  description = "Fargate memory of a dashboard task, in MiB."
  type        = number
  default     = 1024
}

variable "dashboard_desired_count" {
  description = "Number of dashboard tasks."
  type        = number
  default     = 1
}

variable "streaming_consumer_group" {
  description = "Kafka consumer group id of the streaming job (consumer-lag alarm)."
  type        = string
  default     = "fxtrue-stream"
}

variable "alarm_emails" {
  description = "E-mail addresses receiving the alarms."
  type        = list(string)
  default     = []
}
