# The VPC (public subnets hold only the ALB and the NAT gateways; everything else is private), VPC flow logs,
# the S3 gateway endpoint, and every security group with its rules: the whole traffic matrix lives here so it
# can be read (and reviewed) in one place and the service modules never need each other's group ids.

data "aws_region" "current" {}

# Zones are pinned by name (region + suffix) so the subnet layout never shifts when AWS adds a zone.
data "aws_availability_zones" "available" {
  state = "available"
  filter {
    name   = "zone-name"
    values = [for suffix in var.az_suffixes : "${data.aws_region.current.region}${suffix}"]
  }
}

locals {
  tags      = merge(var.tags, { Module = "network" })
  azs       = slice(sort(data.aws_availability_zones.available.names), 0, var.az_count)
  nat_count = var.single_nat_gateway ? 1 : var.az_count
  # EMR's managed policy v2 only acts on subnets and security groups carrying this tag.
  emr_tag = { "for-use-with-amazon-emr-managed-policies" = "true" }
}

resource "aws_vpc" "this" {
  cidr_block           = var.cidr_block
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = merge(local.tags, { Name = var.name_prefix })
}

# The default security group is left with no rules so that nothing can use it by accident.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id
  tags   = merge(local.tags, { Name = "${var.name_prefix}-default-deny" })
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id
  tags   = merge(local.tags, { Name = var.name_prefix })
}

resource "aws_subnet" "public" {
  count                   = var.az_count
  vpc_id                  = aws_vpc.this.id
  cidr_block              = cidrsubnet(var.cidr_block, 4, count.index)
  availability_zone       = local.azs[count.index]
  map_public_ip_on_launch = false # only the ALB and NAT gateways live here, and they get their own addresses
  tags                    = merge(local.tags, { Name = "${var.name_prefix}-public-${local.azs[count.index]}", Tier = "public" })
}

resource "aws_subnet" "private" {
  count             = var.az_count
  vpc_id            = aws_vpc.this.id
  cidr_block        = cidrsubnet(var.cidr_block, 4, count.index + 8)
  availability_zone = local.azs[count.index]
  tags              = merge(local.tags, local.emr_tag, { Name = "${var.name_prefix}-private-${local.azs[count.index]}", Tier = "private" })
}

resource "aws_eip" "nat" {
  count  = local.nat_count
  domain = "vpc"
  tags   = merge(local.tags, { Name = "${var.name_prefix}-nat-${count.index}" })
}

resource "aws_nat_gateway" "this" {
  count         = local.nat_count
  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id
  tags          = merge(local.tags, { Name = "${var.name_prefix}-nat-${count.index}" })
  depends_on    = [aws_internet_gateway.this]
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id
  tags   = merge(local.tags, { Name = "${var.name_prefix}-public" })
}

resource "aws_route" "public_internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this.id
}

resource "aws_route_table_association" "public" {
  count          = var.az_count
  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

resource "aws_route_table" "private" {
  count  = var.az_count
  vpc_id = aws_vpc.this.id
  tags   = merge(local.tags, { Name = "${var.name_prefix}-private-${local.azs[count.index]}" })
}

resource "aws_route" "private_nat" {
  count                  = var.az_count
  route_table_id         = aws_route_table.private[count.index].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[min(count.index, local.nat_count - 1)].id
}

resource "aws_route_table_association" "private" {
  count          = var.az_count
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

# Lake, checkpoint and log traffic to S3 stays on the AWS network and costs no NAT data processing.
resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${data.aws_region.current.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = aws_route_table.private[*].id
  tags              = merge(local.tags, { Name = "${var.name_prefix}-s3" })
}

# ---------------------------------------------------------------------------------------------------------
# VPC flow logs -> CloudWatch Logs (KMS-encrypted)

resource "aws_cloudwatch_log_group" "flow_logs" {
  name              = "/fxtrue/${var.name_prefix}/vpc-flow-logs"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = local.tags
}

data "aws_iam_policy_document" "flow_logs_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "flow_logs" {
  name               = "${var.name_prefix}-vpc-flow-logs"
  assume_role_policy = data.aws_iam_policy_document.flow_logs_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "flow_logs" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.flow_logs.arn}:*"]
  }
}

resource "aws_iam_role_policy" "flow_logs" {
  name   = "write-flow-logs"
  role   = aws_iam_role.flow_logs.id
  policy = data.aws_iam_policy_document.flow_logs.json
}

resource "aws_flow_log" "this" {
  vpc_id               = aws_vpc.this.id
  traffic_type         = "ALL"
  log_destination_type = "cloud-watch-logs"
  log_destination      = aws_cloudwatch_log_group.flow_logs.arn
  iam_role_arn         = aws_iam_role.flow_logs.arn
  tags                 = local.tags
}

# ---------------------------------------------------------------------------------------------------------
# Security groups. No group opens anything to the internet except the ALB on 443; egress is limited to the
# peer groups each service talks to, plus HTTPS (AWS APIs, package repositories) through the NAT gateway.

resource "aws_security_group" "alb" {
  #checkov:skip=CKV2_AWS_5:Attached in the dashboard module's aws_lb; the group is defined here so all rules live in one module, which checkov cannot follow across module boundaries.
  name        = "${var.name_prefix}-alb"
  description = "Dashboard ALB: HTTPS from the allowed client ranges, HTTP only to the dashboard tasks"
  vpc_id      = aws_vpc.this.id
  tags        = merge(local.tags, { Name = "${var.name_prefix}-alb" })
}

resource "aws_security_group" "dashboard" {
  #checkov:skip=CKV2_AWS_5:Attached in the dashboard module's aws_ecs_service; the group is defined here so all rules live in one module, which checkov cannot follow across module boundaries.
  name        = "${var.name_prefix}-dashboard"
  description = "Dashboard ECS tasks: HTTP from the ALB only"
  vpc_id      = aws_vpc.this.id
  tags        = merge(local.tags, { Name = "${var.name_prefix}-dashboard" })
}

resource "aws_security_group" "cassandra" {
  #checkov:skip=CKV2_AWS_5:Attached in the cassandra module's launch template; the group is defined here so all rules live in one module, which checkov cannot follow across module boundaries.
  name        = "${var.name_prefix}-cassandra"
  description = "Cassandra nodes: CQL (TLS) from the application tiers, internode TLS among themselves"
  vpc_id      = aws_vpc.this.id
  tags        = merge(local.tags, { Name = "${var.name_prefix}-cassandra" })
}

resource "aws_security_group" "kafka" {
  #checkov:skip=CKV2_AWS_5:Attached in the kafka module's aws_msk_cluster; the group is defined here so all rules live in one module, which checkov cannot follow across module boundaries.
  name        = "${var.name_prefix}-kafka"
  description = "MSK brokers: SASL/SCRAM over TLS from the producer, Spark and Airflow"
  vpc_id      = aws_vpc.this.id
  tags        = merge(local.tags, { Name = "${var.name_prefix}-kafka" })
}

# EMR adds the rules it needs between its own managed groups; revoke them on delete so the groups can go.
resource "aws_security_group" "emr_primary" {
  #checkov:skip=CKV2_AWS_5:Attached in the spark module's aws_emr_cluster; the group is defined here so all rules live in one module, which checkov cannot follow across module boundaries.
  name                   = "${var.name_prefix}-emr-primary"
  description            = "EMR primary node (rules between EMR groups are managed by EMR)"
  vpc_id                 = aws_vpc.this.id
  revoke_rules_on_delete = true
  tags                   = merge(local.tags, local.emr_tag, { Name = "${var.name_prefix}-emr-primary" })
}

resource "aws_security_group" "emr_core" {
  #checkov:skip=CKV2_AWS_5:Attached in the spark module's aws_emr_cluster; the group is defined here so all rules live in one module, which checkov cannot follow across module boundaries.
  name                   = "${var.name_prefix}-emr-core"
  description            = "EMR core nodes (rules between EMR groups are managed by EMR)"
  vpc_id                 = aws_vpc.this.id
  revoke_rules_on_delete = true
  tags                   = merge(local.tags, local.emr_tag, { Name = "${var.name_prefix}-emr-core" })
}

resource "aws_security_group" "emr_service" {
  #checkov:skip=CKV2_AWS_5:Attached in the spark module's aws_emr_cluster; the group is defined here so all rules live in one module, which checkov cannot follow across module boundaries.
  name                   = "${var.name_prefix}-emr-service"
  description            = "EMR service access for clusters in private subnets (rules managed by EMR)"
  vpc_id                 = aws_vpc.this.id
  revoke_rules_on_delete = true
  tags                   = merge(local.tags, local.emr_tag, { Name = "${var.name_prefix}-emr-service" })
}

resource "aws_security_group" "mwaa" {
  #checkov:skip=CKV2_AWS_5:Attached in the airflow module's aws_mwaa_environment; the group is defined here so all rules live in one module, which checkov cannot follow across module boundaries.
  name        = "${var.name_prefix}-mwaa"
  description = "MWAA environment: self-referencing as MWAA requires, egress to its peers and HTTPS"
  vpc_id      = aws_vpc.this.id
  tags        = merge(local.tags, { Name = "${var.name_prefix}-mwaa" })
}

# --- ALB
resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each          = toset(var.alb_ingress_cidrs)
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS to the dashboard"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

# Port 80 exists only to redirect to HTTPS; it is closed unless ranges are listed in http_redirect_cidrs.
resource "aws_vpc_security_group_ingress_rule" "alb_http_redirect" {
  for_each          = toset(var.http_redirect_cidrs)
  security_group_id = aws_security_group.alb.id
  description       = "HTTP, answered with a redirect to HTTPS"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "alb_to_dashboard" {
  security_group_id            = aws_security_group.alb.id
  description                  = "Forward to the dashboard tasks"
  ip_protocol                  = "tcp"
  from_port                    = var.dashboard_port
  to_port                      = var.dashboard_port
  referenced_security_group_id = aws_security_group.dashboard.id
}

# --- Dashboard
resource "aws_vpc_security_group_ingress_rule" "dashboard_from_alb" {
  security_group_id            = aws_security_group.dashboard.id
  description                  = "From the ALB"
  ip_protocol                  = "tcp"
  from_port                    = var.dashboard_port
  to_port                      = var.dashboard_port
  referenced_security_group_id = aws_security_group.alb.id
}

# --- Cassandra clients: CQL from the dashboard, EMR (streaming and batch) and MWAA (supervisor, init)
locals {
  cassandra_clients = {
    dashboard   = aws_security_group.dashboard.id
    emr_primary = aws_security_group.emr_primary.id
    emr_core    = aws_security_group.emr_core.id
    mwaa        = aws_security_group.mwaa.id
  }
  kafka_clients = {
    emr_primary = aws_security_group.emr_primary.id
    emr_core    = aws_security_group.emr_core.id
    mwaa        = aws_security_group.mwaa.id
  }
  # Every private tier may call AWS APIs and package repositories over HTTPS through the NAT gateway.
  https_egress = {
    dashboard   = aws_security_group.dashboard.id
    cassandra   = aws_security_group.cassandra.id
    emr_primary = aws_security_group.emr_primary.id
    emr_core    = aws_security_group.emr_core.id
    mwaa        = aws_security_group.mwaa.id
  }
}

resource "aws_vpc_security_group_ingress_rule" "cassandra_cql" {
  for_each                     = local.cassandra_clients
  security_group_id            = aws_security_group.cassandra.id
  description                  = "CQL over TLS from ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = var.cassandra_port
  to_port                      = var.cassandra_port
  referenced_security_group_id = each.value
}

resource "aws_vpc_security_group_egress_rule" "to_cassandra" {
  for_each                     = local.cassandra_clients
  security_group_id            = each.value
  description                  = "CQL over TLS to Cassandra"
  ip_protocol                  = "tcp"
  from_port                    = var.cassandra_port
  to_port                      = var.cassandra_port
  referenced_security_group_id = aws_security_group.cassandra.id
}

resource "aws_vpc_security_group_ingress_rule" "cassandra_internode" {
  security_group_id            = aws_security_group.cassandra.id
  description                  = "Internode (TLS) gossip and streaming"
  ip_protocol                  = "tcp"
  from_port                    = var.cassandra_storage_port
  to_port                      = var.cassandra_storage_port
  referenced_security_group_id = aws_security_group.cassandra.id
}

resource "aws_vpc_security_group_egress_rule" "cassandra_internode" {
  security_group_id            = aws_security_group.cassandra.id
  description                  = "Internode (TLS) gossip and streaming"
  ip_protocol                  = "tcp"
  from_port                    = var.cassandra_storage_port
  to_port                      = var.cassandra_storage_port
  referenced_security_group_id = aws_security_group.cassandra.id
}

# --- Kafka clients
resource "aws_vpc_security_group_ingress_rule" "kafka_scram" {
  for_each                     = local.kafka_clients
  security_group_id            = aws_security_group.kafka.id
  description                  = "Kafka SASL/SCRAM over TLS from ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = var.kafka_port
  to_port                      = var.kafka_port
  referenced_security_group_id = each.value
}

resource "aws_vpc_security_group_egress_rule" "to_kafka" {
  for_each                     = local.kafka_clients
  security_group_id            = each.value
  description                  = "Kafka SASL/SCRAM over TLS to MSK"
  ip_protocol                  = "tcp"
  from_port                    = var.kafka_port
  to_port                      = var.kafka_port
  referenced_security_group_id = aws_security_group.kafka.id
}

# --- HTTPS out (AWS APIs, ECR, package repositories, TrueFX)
resource "aws_vpc_security_group_egress_rule" "https" {
  for_each          = local.https_egress
  security_group_id = each.value
  description       = "HTTPS to AWS APIs and package repositories via NAT"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

# --- MWAA: AWS requires the group to allow all traffic from itself (workers, scheduler, the VPC endpoints of
# its metadata database and web server all share it).
resource "aws_vpc_security_group_ingress_rule" "mwaa_self" {
  security_group_id            = aws_security_group.mwaa.id
  description                  = "MWAA components among themselves"
  ip_protocol                  = "-1"
  referenced_security_group_id = aws_security_group.mwaa.id
}

resource "aws_vpc_security_group_egress_rule" "mwaa_self" {
  security_group_id            = aws_security_group.mwaa.id
  description                  = "MWAA components among themselves (metadata database, web server endpoints)"
  ip_protocol                  = "-1"
  referenced_security_group_id = aws_security_group.mwaa.id
}
