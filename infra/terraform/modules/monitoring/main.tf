# Alarms and where they go: an SNS topic (KMS-encrypted) receiving the consumer-lag alarm of the streaming
# job (MSK metric), one heartbeat-age alarm per job (custom metric FXTrue/HeartbeatAgeSeconds, dimension Job,
# published by the supervisor), and EC2 system-check alarms that auto-recover the Cassandra nodes.

data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  tags = merge(var.tags, { Module = "monitoring" })
}

resource "aws_sns_topic" "this" {
  name              = "${var.name_prefix}-alarms"
  display_name      = "FXTrue ${var.name_prefix} alarms"
  kms_master_key_id = var.kms_key_arn
  tags              = local.tags
}

resource "aws_sns_topic_subscription" "email" {
  for_each  = toset(var.alarm_emails)
  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = each.value
}

# Lag of the streaming job's consumer group on fx.ticks: the speed layer falls behind the feed.
resource "aws_cloudwatch_metric_alarm" "consumer_lag" {
  alarm_name          = "${var.name_prefix}-consumer-lag"
  alarm_description   = "Streaming job lags on ${var.ticks_topic} (max offset lag of group ${var.consumer_group} above ${var.consumer_lag_threshold} for 5 minutes)."
  namespace           = "AWS/Kafka"
  metric_name         = "MaxOffsetLag"
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 5
  threshold           = var.consumer_lag_threshold
  comparison_operator = "GreaterThanThreshold"
  # No data means the group has not committed (yet): the heartbeat alarms cover a dead job.
  treat_missing_data = "notBreaching"
  dimensions = {
    "Cluster Name"   = var.kafka_cluster_name
    "Consumer Group" = var.consumer_group
    "Topic"          = var.ticks_topic
  }
  alarm_actions = [aws_sns_topic.this.arn]
  ok_actions    = [aws_sns_topic.this.arn]
  tags          = local.tags
}

# Age of each job's last heartbeat; missing data is breaching, because a silent publisher is an outage too.
resource "aws_cloudwatch_metric_alarm" "heartbeat_age" {
  for_each            = toset(var.heartbeat_jobs)
  alarm_name          = "${var.name_prefix}-heartbeat-${each.value}"
  alarm_description   = "Job ${each.value} has not written a heartbeat for more than ${var.heartbeat_max_age_seconds} s (or the age is no longer published)."
  namespace           = var.metric_namespace
  metric_name         = "HeartbeatAgeSeconds"
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  threshold           = var.heartbeat_max_age_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "breaching"
  dimensions = {
    Job = each.value
  }
  alarm_actions = [aws_sns_topic.this.arn]
  ok_actions    = [aws_sns_topic.this.arn]
  tags          = local.tags
}

# A Cassandra node whose host fails is recovered in place (same instance id, IP and EBS volumes).
resource "aws_cloudwatch_metric_alarm" "cassandra_recover" {
  count               = length(var.cassandra_instance_ids)
  alarm_name          = "${var.name_prefix}-cassandra-${count.index}-system-check"
  alarm_description   = "Cassandra node ${count.index} failed its EC2 system status check: recovering the instance."
  namespace           = "AWS/EC2"
  metric_name         = "StatusCheckFailed_System"
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 2
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  dimensions = {
    InstanceId = var.cassandra_instance_ids[count.index]
  }
  alarm_actions = [
    "arn:${data.aws_partition.current.partition}:automate:${data.aws_region.current.region}:ec2:recover",
    aws_sns_topic.this.arn,
  ]
  tags = local.tags
}
