# Lesson 09: the alarms worth waking up for. Each one notifies the SNS topic alarm_topic_arn.
# What to watch defaults to lesson 08's functions and queues (named from local.prefix, as
# storage.tf names them); the variables let a team watch others without editing this file.

variable "alarm_topic_arn" {
  description = "SNS topic that receives alarm notifications (empty: alarms without actions)"
  type        = string
  default     = ""
}

variable "monitored_functions" {
  description = "Lambda functions whose errors and throttles page someone (null: lesson 08's)"
  type        = list(string)
  default     = null
}

variable "signups_queue_name" {
  description = "The sign-ups queue (null: lesson 08's)"
  type        = string
  default     = null
}

variable "signups_dlq_name" {
  description = "Its dead-letter queue (null: lesson 08's)"
  type        = string
  default     = null
}

variable "oldest_message_age_seconds" {
  description = "How old the oldest sign-up may get before someone looks"
  type        = number
  default     = 900
}

locals {
  alarm_actions = var.alarm_topic_arn == "" ? [] : [var.alarm_topic_arn]
  monitored_functions = var.monitored_functions != null ? var.monitored_functions : [
    "${local.prefix}-api", "${local.prefix}-worker", "${local.prefix}-importer",
  ]
  signups_queue_name = coalesce(var.signups_queue_name, "${local.prefix}-signups")
  signups_dlq_name   = coalesce(var.signups_dlq_name, "${local.prefix}-signups-dlq")
}

resource "aws_cloudwatch_metric_alarm" "function_errors" {
  for_each            = toset(local.monitored_functions)
  alarm_name          = "${each.value}-errors"
  alarm_description   = "Invocations of ${each.value} failed: read its ERROR lines"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "function_throttles" {
  for_each            = toset(local.monitored_functions)
  alarm_name          = "${each.value}-throttles"
  alarm_description   = "Requests to ${each.value} were throttled: concurrency is too low"
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "dlq_not_empty" {
  alarm_name          = "${local.signups_dlq_name}-not-empty"
  alarm_description   = "Sign-ups failed for good and wait in the DLQ: inspect, fix, redrive"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = local.signups_dlq_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "oldest_signup" {
  alarm_name          = "${local.signups_queue_name}-oldest-message"
  alarm_description   = "The sign-ups worker is behind or stuck"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = local.signups_queue_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  threshold           = var.oldest_message_age_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}
