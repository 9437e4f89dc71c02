output "sns_topic_arn" {
  description = "ARN of the alarm topic."
  value       = aws_sns_topic.this.arn
}

output "alarm_names" {
  description = "Names of the alarms created."
  value = concat(
    [aws_cloudwatch_metric_alarm.consumer_lag.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.heartbeat_age : a.alarm_name],
    aws_cloudwatch_metric_alarm.cassandra_recover[*].alarm_name,
  )
}
