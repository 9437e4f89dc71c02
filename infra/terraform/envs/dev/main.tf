# FXTrue on AWS: the environment's root module. It composes the modules and computes the application's
# settings (app_environment, app_secret_arns) once, handing the same values to EMR, MWAA and the dashboard.

locals {
  name_prefix = "fxtrue-${var.environment}"
  common_tags = {
    Project     = "fxtrue"
    Environment = var.environment
    ManagedBy   = "terraform"
    Source      = "infra/terraform/envs/${var.environment}"
  }

  # Fixed names shared by modules that must not depend on each other (roles are written before the resources).
  mwaa_environment_name     = local.name_prefix
  emr_cluster_name          = "${local.name_prefix}-spark"
  dashboard_repository_name = "${local.name_prefix}-dashboard"
  dashboard_log_group_name  = "/fxtrue/${local.name_prefix}/dashboard"

  # One Cassandra node per private subnet at a fixed address: seeds and certificate are known before launch.
  cassandra_node_ips   = [for cidr in module.network.private_subnet_cidrs : cidrhost(cidr, 10)]
  cassandra_datacenter = var.region
  cassandra_ca_path    = "/etc/fxtrue/cassandra-ca.pem"

  # Non-secret settings, read by fxtrue.settings (FXTRUE_<SECTION>_<FIELD>).
  app_environment = {
    FXTRUE_STATE_DIR                = "/tmp/fxtrue"
    FXTRUE_KAFKA_BOOTSTRAP          = module.kafka.bootstrap_brokers
    FXTRUE_KAFKA_SECURITY_PROTOCOL  = "SASL_SSL"
    FXTRUE_KAFKA_SASL_MECHANISM     = "SCRAM-SHA-512"
    FXTRUE_KAFKA_SASL_USERNAME      = module.secrets.kafka_username
    FXTRUE_KAFKA_SSL_CAFILE         = "" # empty: the system trust store, where MSK's Amazon-issued chain already is
    FXTRUE_KAFKA_REPLICATION_FACTOR = "3"
    FXTRUE_CASSANDRA_HOSTS          = join(",", local.cassandra_node_ips)
    FXTRUE_CASSANDRA_PORT           = "9042"
    FXTRUE_CASSANDRA_USERNAME       = var.cassandra_app_username
    FXTRUE_CASSANDRA_REPLICATION    = "NetworkTopologyStrategy:${local.cassandra_datacenter}=${length(local.cassandra_node_ips)}"
    FXTRUE_CASSANDRA_LOCAL_DC       = local.cassandra_datacenter
    FXTRUE_CASSANDRA_SSL            = "true"
    FXTRUE_CASSANDRA_SSL_CAFILE     = local.cassandra_ca_path
    FXTRUE_SPARK_MASTER             = "yarn"
    FXTRUE_SPARK_LAKE_PATH          = module.storage.lake_uri
    FXTRUE_SPARK_CHECKPOINT_DIR     = module.storage.checkpoint_uri
    FXTRUE_SPARK_JARS_DIR           = "/opt/fxtrue/jars"
    FXTRUE_DQ_DOCS_DIR              = module.storage.docs_uri
    FXTRUE_DASHBOARD_HOST           = "0.0.0.0"
    FXTRUE_DASHBOARD_PORT           = tostring(var.dashboard_port)
    FXTRUE_DASHBOARD_USERNAME       = var.dashboard_username
  }

  # Secret settings: variable name -> Secrets Manager ARN (plain-string secrets).
  app_secret_arns = {
    FXTRUE_CASSANDRA_PASSWORD  = module.secrets.secret_arns["cassandra_app_password"]
    FXTRUE_KAFKA_SASL_PASSWORD = module.secrets.secret_arns["kafka_password"]
    FXTRUE_TRUEFX_USERNAME     = module.secrets.secret_arns["truefx_username"]
    FXTRUE_TRUEFX_PASSWORD     = module.secrets.secret_arns["truefx_password"]
    FXTRUE_DASHBOARD_PASSWORD  = module.secrets.secret_arns["dashboard_password"]
  }
  # The jobs (EMR, MWAA) do not serve the dashboard: they neither get nor may read its password.
  job_secret_arns = { for name, arn in local.app_secret_arns : name => arn if name != "FXTRUE_DASHBOARD_PASSWORD" }
}

module "kms" {
  source      = "../../modules/kms"
  name_prefix = local.name_prefix
  tags        = local.common_tags
}

module "network" {
  source              = "../../modules/network"
  name_prefix         = local.name_prefix
  cidr_block          = var.vpc_cidr
  az_count            = 3
  single_nat_gateway  = var.single_nat_gateway
  kms_key_arn         = module.kms.key_arn
  log_retention_days  = var.log_retention_days
  alb_ingress_cidrs   = var.alb_ingress_cidrs
  http_redirect_cidrs = var.http_redirect_cidrs
  dashboard_port      = var.dashboard_port
  tags                = local.common_tags
}

module "storage" {
  source             = "../../modules/storage"
  name_prefix        = local.name_prefix
  kms_key_arn        = module.kms.key_arn
  log_retention_days = var.log_retention_days
  force_destroy      = var.force_destroy
  tags               = local.common_tags
}

module "secrets" {
  source               = "../../modules/secrets"
  name_prefix          = local.name_prefix
  kms_key_arn          = module.kms.key_arn
  recovery_window_days = var.secret_recovery_window_days
  cassandra_node_ips   = local.cassandra_node_ips
  tags                 = local.common_tags
}

module "iam" {
  source                    = "../../modules/iam"
  name_prefix               = local.name_prefix
  kms_key_arn               = module.kms.key_arn
  bucket_arns               = module.storage.bucket_arns
  secret_arns               = module.secrets.secret_arns
  mwaa_environment_name     = local.mwaa_environment_name
  emr_cluster_name          = local.emr_cluster_name
  dashboard_repository_name = local.dashboard_repository_name
  dashboard_log_group_name  = local.dashboard_log_group_name
  tags                      = local.common_tags
}

module "kafka" {
  source             = "../../modules/kafka"
  name_prefix        = local.name_prefix
  kafka_version      = var.kafka_version
  instance_type      = var.kafka_instance_type
  volume_size_gb     = var.kafka_volume_size_gb
  subnet_ids         = module.network.private_subnet_ids
  security_group_id  = module.network.security_group_ids["kafka"]
  kms_key_arn        = module.kms.key_arn
  scram_secret_arn   = module.secrets.kafka_scram_secret_arn
  log_retention_days = var.log_retention_days
  tags               = local.common_tags
}

module "cassandra" {
  source                    = "../../modules/cassandra"
  name_prefix               = local.name_prefix
  instance_type             = var.cassandra_instance_type
  data_volume_size_gb       = var.cassandra_data_volume_size_gb
  subnet_ids                = module.network.private_subnet_ids
  node_ips                  = local.cassandra_node_ips
  security_group_id         = module.network.security_group_ids["cassandra"]
  instance_profile_name     = module.iam.cassandra_instance_profile_name
  kms_key_arn               = module.kms.key_arn
  tls_secret_arn            = module.secrets.secret_arns["cassandra_tls"]
  admin_password_secret_arn = module.secrets.secret_arns["cassandra_admin_password"]
  app_password_secret_arn   = module.secrets.secret_arns["cassandra_app_password"]
  app_username              = var.cassandra_app_username
  termination_protection    = var.termination_protection
  tags                      = local.common_tags
}

module "spark" {
  source                    = "../../modules/spark"
  name_prefix               = local.name_prefix
  release_label             = var.emr_release_label
  primary_instance_type     = var.emr_primary_instance_type
  core_instance_type        = var.emr_core_instance_type
  core_instance_count       = var.emr_core_instance_count
  subnet_id                 = module.network.private_subnet_ids[0]
  primary_security_group_id = module.network.security_group_ids["emr_primary"]
  core_security_group_id    = module.network.security_group_ids["emr_core"]
  service_security_group_id = module.network.security_group_ids["emr_service"]
  service_role_arn          = module.iam.emr_service_role_arn
  instance_profile_arn      = module.iam.emr_instance_profile_arn
  kms_key_arn               = module.kms.key_arn
  artifacts_bucket          = module.storage.bucket_names["artifacts"]
  logs_bucket               = module.storage.logs_bucket
  app_environment           = local.app_environment
  app_secret_arns           = local.job_secret_arns
  cassandra_ca_pem          = module.secrets.cassandra_ca_pem
  termination_protection    = var.termination_protection
  tags                      = local.common_tags
}

module "airflow" {
  source                         = "../../modules/airflow"
  environment_name               = local.mwaa_environment_name
  airflow_version                = var.mwaa_airflow_version
  environment_class              = var.mwaa_environment_class
  max_workers                    = var.mwaa_max_workers
  execution_role_arn             = module.iam.mwaa_execution_role_arn
  kms_key_arn                    = module.kms.key_arn
  artifacts_bucket               = module.storage.bucket_names["artifacts"]
  artifacts_bucket_arn           = module.storage.bucket_arns["artifacts"]
  requirements_s3_object_version = var.mwaa_requirements_s3_object_version
  subnet_ids                     = module.network.private_subnet_ids
  security_group_id              = module.network.security_group_ids["mwaa"]
  app_environment                = merge(local.app_environment, { FXTRUE_EMR_CLUSTER_ID = module.spark.cluster_id })
  app_secret_arns                = local.job_secret_arns
  tags                           = local.common_tags
}

module "dashboard" {
  source                  = "../../modules/dashboard"
  name_prefix             = local.name_prefix
  repository_name         = local.dashboard_repository_name
  log_group_name          = local.dashboard_log_group_name
  image_tag               = var.dashboard_image_tag
  cpu                     = var.dashboard_cpu
  memory                  = var.dashboard_memory
  desired_count           = var.dashboard_desired_count
  port                    = var.dashboard_port
  host_names              = var.dashboard_host_names
  vpc_id                  = module.network.vpc_id
  public_subnet_ids       = module.network.public_subnet_ids
  private_subnet_ids      = module.network.private_subnet_ids
  alb_security_group_id   = module.network.security_group_ids["alb"]
  task_security_group_id  = module.network.security_group_ids["dashboard"]
  execution_role_arn      = module.iam.dashboard_execution_role_arn
  task_role_arn           = module.iam.dashboard_task_role_arn
  certificate_arn         = var.certificate_arn
  deletion_protection     = var.termination_protection
  logs_bucket             = module.storage.logs_bucket
  kms_key_arn             = module.kms.key_arn
  log_retention_days      = var.log_retention_days
  app_environment         = local.app_environment
  app_secret_arns         = local.app_secret_arns
  cassandra_ca_pem        = module.secrets.cassandra_ca_pem
  force_delete_repository = var.force_destroy
  tags                    = local.common_tags
}

module "monitoring" {
  source                 = "../../modules/monitoring"
  name_prefix            = local.name_prefix
  kms_key_arn            = module.kms.key_arn
  alarm_emails           = var.alarm_emails
  kafka_cluster_name     = module.kafka.cluster_name
  consumer_group         = var.streaming_consumer_group
  cassandra_instance_ids = module.cassandra.instance_ids
  tags                   = local.common_tags
}
