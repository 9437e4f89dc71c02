# Apache Cassandra 5.0 on EC2: three nodes, one per AZ (rack = AZ, DC = region), started from one launch
# template (Amazon Linux 2023, IMDSv2 only, encrypted gp3 root) with a separate encrypted gp3 data volume per
# node so that data outlives an instance replacement. Fixed private IPs make the seed list and the node
# certificate known before launch. Daily EBS snapshots via Data Lifecycle Manager.

data "aws_region" "current" {}

data "aws_ssm_parameter" "al2023" {
  name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${var.architecture}"
}

data "aws_subnet" "this" {
  count = length(var.subnet_ids)
  id    = var.subnet_ids[count.index]
}

locals {
  tags        = merge(var.tags, { Module = "cassandra" })
  node_count  = length(var.node_ips)
  data_device = "/dev/sdf"
  ami_id      = var.ami_id != "" ? var.ami_id : nonsensitive(data.aws_ssm_parameter.al2023.value)

  user_data = templatefile("${path.module}/templates/user_data.sh.tftpl", {
    cassandra_version         = var.cassandra_version
    cluster_name              = var.cluster_name
    datacenter                = data.aws_region.current.region
    region                    = data.aws_region.current.region
    seeds                     = join(",", var.node_ips)
    node_count                = local.node_count
    cql_port                  = var.cql_port
    storage_port              = var.storage_port
    data_device               = local.data_device
    tls_secret_arn            = var.tls_secret_arn
    admin_password_secret_arn = var.admin_password_secret_arn
    app_password_secret_arn   = var.app_password_secret_arn
    admin_username            = var.admin_username
    app_username              = var.app_username
  })
}

resource "aws_launch_template" "this" {
  name                   = "${var.name_prefix}-cassandra"
  description            = "Cassandra ${var.cassandra_version} node (JDK 17, TLS, PasswordAuthenticator)"
  image_id               = local.ami_id
  instance_type          = var.instance_type
  ebs_optimized          = true
  vpc_security_group_ids = [var.security_group_id]
  user_data              = base64encode(local.user_data)
  update_default_version = true

  iam_instance_profile {
    name = var.instance_profile_name
  }

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  monitoring {
    enabled = true
  }

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = var.root_volume_size_gb
      volume_type           = "gp3"
      encrypted             = true
      kms_key_id            = var.kms_key_arn
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(local.tags, { Role = "cassandra" })
  }

  tag_specifications {
    resource_type = "volume"
    tags          = merge(local.tags, { Role = "cassandra-root" })
  }

  tags = local.tags
}

resource "aws_instance" "this" {
  count                   = local.node_count
  subnet_id               = var.subnet_ids[count.index]
  private_ip              = var.node_ips[count.index]
  ebs_optimized           = true
  monitoring              = true
  disable_api_termination = var.termination_protection
  iam_instance_profile    = var.instance_profile_name

  launch_template {
    id      = aws_launch_template.this.id
    version = aws_launch_template.this.latest_version
  }

  # Repeated from the launch template so that the requirement is visible (and enforced) on the instance too.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_type = "gp3"
    volume_size = var.root_volume_size_gb
    encrypted   = true
    kms_key_id  = var.kms_key_arn
  }

  tags = merge(local.tags, { Name = "${var.name_prefix}-cassandra-${count.index}", Role = "cassandra" })

  # A new launch-template version must not replace every node at once: roll nodes one at a time with
  # `terraform apply -replace='module.cassandra.aws_instance.this[N]'` (README, "Rolling Cassandra nodes").
  lifecycle {
    ignore_changes = [launch_template, ami, user_data]
  }
}

# Backed up by the Data Lifecycle Manager policy below (daily snapshots), on top of Cassandra's 3 replicas.
resource "aws_ebs_volume" "data" {
  count             = local.node_count
  availability_zone = data.aws_subnet.this[count.index].availability_zone
  size              = var.data_volume_size_gb
  type              = "gp3"
  iops              = var.data_volume_iops
  throughput        = var.data_volume_throughput
  encrypted         = true
  kms_key_id        = var.kms_key_arn
  final_snapshot    = true
  tags              = merge(local.tags, { Name = "${var.name_prefix}-cassandra-data-${count.index}", Role = "cassandra-data", Snapshot = "daily" })
}

resource "aws_volume_attachment" "data" {
  count       = local.node_count
  device_name = local.data_device
  volume_id   = aws_ebs_volume.data[count.index].id
  instance_id = aws_instance.this[count.index].id
}

# ---------------------------------------------------------------------------------------------------------
# Daily snapshots of the data volumes

data "aws_iam_policy_document" "dlm_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["dlm.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "dlm" {
  name               = "${var.name_prefix}-cassandra-snapshots"
  description        = "Data Lifecycle Manager: daily snapshots of the Cassandra data volumes"
  assume_role_policy = data.aws_iam_policy_document.dlm_assume.json
  tags               = local.tags
}

resource "aws_iam_role_policy_attachment" "dlm" {
  role       = aws_iam_role.dlm.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole"
}

resource "aws_dlm_lifecycle_policy" "this" {
  description        = "${var.name_prefix} Cassandra data volumes, daily"
  execution_role_arn = aws_iam_role.dlm.arn
  state              = "ENABLED"

  policy_details {
    resource_types = ["VOLUME"]
    target_tags = {
      Role    = "cassandra-data"
      Project = var.tags["Project"]
    }

    schedule {
      name      = "daily"
      copy_tags = true
      create_rule {
        interval      = 24
        interval_unit = "HOURS"
        times         = ["03:00"]
      }
      retain_rule {
        count = var.snapshot_retention_count
      }
    }
  }

  tags = local.tags
}
