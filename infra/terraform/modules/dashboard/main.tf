# The Dash dashboard on ECS Fargate in the private subnets, behind an internet-facing ALB in the public
# subnets: TLS 1.2+ with an ACM certificate, HTTP answered with a redirect to HTTPS, AWS WAF in front, access
# logs to the logs bucket. The task gets the application's settings as environment variables and its secrets
# from Secrets Manager (injected by ECS, never in the task definition). The app itself enforces basic auth, the
# Host allow-list and the failed-login limit; gunicorn serves it.

data "aws_region" "current" {}

locals {
  tags           = merge(var.tags, { Module = "dashboard" })
  image          = "${aws_ecr_repository.this.repository_url}:${var.image_tag}"
  ca_path        = "/etc/fxtrue/cassandra-ca.pem"
  task_secrets   = { for name in var.secret_env_names : name => var.app_secret_arns[name] }
  container_name = "dashboard"
  # The app answers only these Host names (DNS-rebinding defence) and counts failed logins per client address
  # from the X-Forwarded-For the ALB (one trusted proxy) appends.
  app_guards = {
    FXTRUE_DASHBOARD_ALLOWED_HOSTS   = join(",", concat(var.host_names, [aws_lb.this.dns_name]))
    FXTRUE_DASHBOARD_TRUSTED_PROXIES = "1"
  }
  log_options = {
    "awslogs-group"         = aws_cloudwatch_log_group.this.name
    "awslogs-region"        = data.aws_region.current.region
    "awslogs-stream-prefix" = "dashboard"
  }
}

# ---------------------------------------------------------------------------------------------------------
# Image repository and logs

resource "aws_ecr_repository" "this" {
  name                 = var.repository_name
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.force_delete_repository
  image_scanning_configuration {
    scan_on_push = true
  }
  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }
  tags = local.tags
}

resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the last 20 images"
      selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 20 }
      action       = { type = "expire" }
    }]
  })
}

resource "aws_cloudwatch_log_group" "this" {
  name              = var.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = local.tags
}

# ---------------------------------------------------------------------------------------------------------
# ECS

resource "aws_ecs_cluster" "this" {
  name = var.name_prefix
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
  tags = local.tags
}

resource "aws_ecs_task_definition" "this" {
  family                   = "${var.name_prefix}-dashboard"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = var.execution_role_arn
  task_role_arn            = var.task_role_arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  # Task-local volumes: the Cassandra CA written by the init container, and a writable /tmp, so that the root
  # file system of both containers can stay read-only.
  volume {
    name = "fxtrue-certs"
  }
  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([
    {
      # Writes the (public) Cassandra CA certificate where FXTRUE_CASSANDRA_SSL_CAFILE points, then exits.
      name                   = "cassandra-ca"
      image                  = local.image
      essential              = false
      user                   = "0" # the task volume is root-owned; this container only writes one public file
      readonlyRootFilesystem = true
      command                = ["sh", "-c", "printf '%s' \"$CASSANDRA_CA_PEM\" > ${local.ca_path} && chmod 0444 ${local.ca_path}"]
      environment            = [{ name = "CASSANDRA_CA_PEM", value = var.cassandra_ca_pem }]
      mountPoints            = [{ sourceVolume = "fxtrue-certs", containerPath = "/etc/fxtrue", readOnly = false }]
      logConfiguration       = { logDriver = "awslogs", options = local.log_options }
    },
    {
      name                   = local.container_name
      image                  = local.image
      essential              = true
      readonlyRootFilesystem = true
      command                = ["gunicorn", "-c", "python:dashboard.gunicorn_conf", "dashboard.app:server"]
      portMappings           = [{ containerPort = var.port, protocol = "tcp" }]
      environment            = [for name, value in merge(var.app_environment, local.app_guards) : { name = name, value = value }]
      secrets                = [for name in sort(keys(local.task_secrets)) : { name = name, valueFrom = local.task_secrets[name] }]
      dependsOn              = [{ containerName = "cassandra-ca", condition = "SUCCESS" }]
      mountPoints = [
        { sourceVolume = "fxtrue-certs", containerPath = "/etc/fxtrue", readOnly = true },
        { sourceVolume = "tmp", containerPath = "/tmp", readOnly = false },
      ]
      linuxParameters  = { initProcessEnabled = true }
      logConfiguration = { logDriver = "awslogs", options = local.log_options }
    },
  ])

  tags = local.tags
}

resource "aws_ecs_service" "this" {
  name                   = "dashboard"
  cluster                = aws_ecs_cluster.this.id
  task_definition        = aws_ecs_task_definition.this.arn
  desired_count          = var.desired_count
  launch_type            = "FARGATE"
  platform_version       = "LATEST"
  enable_execute_command = false
  propagate_tags         = "SERVICE"

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [var.task_security_group_id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.this.arn
    container_name   = local.container_name
    container_port   = var.port
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  depends_on = [aws_lb_listener.https]
  tags       = local.tags
}

# ---------------------------------------------------------------------------------------------------------
# ALB

resource "aws_lb" "this" {
  name                       = "${var.name_prefix}-dashboard"
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = var.public_subnet_ids
  security_groups            = [var.alb_security_group_id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  idle_timeout               = 120

  access_logs {
    bucket  = var.logs_bucket
    prefix  = "alb"
    enabled = true
  }

  tags = local.tags
}

# TLS terminates at the ALB; the hop to the task stays inside the private subnets and the task's security group
# admits the ALB only.
resource "aws_lb_target_group" "this" {
  name                 = "${var.name_prefix}-dashboard"
  port                 = var.port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  health_check {
    enabled             = true
    path                = "/healthz" # answers any Host without a login, and says nothing but "ok"
    matcher             = "200"
    interval            = 30
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = local.tags
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }

  tags = local.tags
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"
    redirect {
      protocol    = "HTTPS"
      port        = "443"
      status_code = "HTTP_301"
    }
  }

  tags = local.tags
}

# ---------------------------------------------------------------------------------------------------------
# WAF

resource "aws_wafv2_web_acl" "this" {
  name        = "${var.name_prefix}-dashboard"
  description = "Dashboard ALB: AWS managed rules and a per-IP rate limit"
  scope       = "REGIONAL"

  default_action {
    allow {}
  }

  rule {
    name     = "aws-common"
    priority = 10
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesCommonRuleSet"
        # Dash callbacks POST JSON bodies above the rule set's 8 KB limit: count instead of block.
        rule_action_override {
          name = "SizeRestrictions_BODY"
          action_to_use {
            count {}
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "aws-common"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-known-bad-inputs"
    priority = 20
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "aws-known-bad-inputs"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-ip-reputation"
    priority = 30
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesAmazonIpReputationList"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "aws-ip-reputation"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-anonymous-ip"
    priority = 35
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesAnonymousIpList"
        # Corporate egress often comes from cloud hosting ranges: count those, block Tor and anonymising proxies.
        rule_action_override {
          name = "HostingProviderIPList"
          action_to_use {
            count {}
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "aws-anonymous-ip"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "rate-limit-per-ip"
    priority = 40
    action {
      block {}
    }
    statement {
      rate_based_statement {
        limit              = var.rate_limit_per_5min
        aggregate_key_type = "IP"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "rate-limit-per-ip"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "${var.name_prefix}-dashboard"
    sampled_requests_enabled   = true
  }

  tags = local.tags
}

resource "aws_wafv2_web_acl_association" "this" {
  resource_arn = aws_lb.this.arn
  web_acl_arn  = aws_wafv2_web_acl.this.arn
}

# WAF only logs to log groups whose name starts with aws-waf-logs-.
resource "aws_cloudwatch_log_group" "waf" {
  name              = "aws-waf-logs-${var.name_prefix}-dashboard"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = local.tags
}

resource "aws_wafv2_web_acl_logging_configuration" "this" {
  resource_arn            = aws_wafv2_web_acl.this.arn
  log_destination_configs = [aws_cloudwatch_log_group.waf.arn]

  redacted_fields {
    single_header {
      name = "authorization" # basic-auth credentials never reach the logs
    }
  }
}
