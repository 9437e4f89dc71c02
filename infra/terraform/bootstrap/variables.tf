variable "region" {
  description = "AWS region of the state bucket (use the environments' region)."
  type        = string
  default     = "eu-west-1"
}
