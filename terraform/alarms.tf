# Lesson 09: the alarms worth waking up for. Each one notifies the SNS topic alarm_topic_arn.
# Names of what to watch come in as variables (defaults: the course's names), so this file
# stands next to the functions and queues it watches without repeating them.

variable "alarm_topic_arn" {
  description = "SNS topic that receives alarm notifications (empty: alarms without actions)"
  type        = string
  default     = ""
}

variable "monitored_functions" {
  description = "Lambda functions whose errors and throttles page someone"
  type        = list(string)
  default     = ["users-api", "signups-api", "signups-worker", "users-import"]
}

variable "signups_queue_name" {
  type    = string
  default = "signups"
}

variable "signups_dlq_name" {
  type    = string
  default = "signups-dlq"
}

variable "oldest_message_age_seconds" {
  description = "How old the oldest sign-up may get before someone looks"
  type        = number
  default     = 900
}

locals {
  alarm_actions = var.alarm_topic_arn == "" ? [] : [var.alarm_topic_arn]
}

resource "aws_cloudwatch_metric_alarm" "function_errors" {
  for_each            = toset(var.monitored_functions)
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
  for_each            = toset(var.monitored_functions)
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
  alarm_name          = "${var.signups_dlq_name}-not-empty"
  alarm_description   = "Sign-ups failed for good and wait in the DLQ: inspect, fix, redrive"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = var.signups_dlq_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "oldest_signup" {
  alarm_name          = "${var.signups_queue_name}-oldest-message"
  alarm_description   = "The sign-ups worker is behind or stuck"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = var.signups_queue_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  threshold           = var.oldest_message_age_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}
