terraform {
  required_version = "~> 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
  # Local state on purpose: this configuration creates the remote-state bucket every environment uses.
  # Keep its terraform.tfstate safe (or migrate it into the bucket afterwards, README "Bootstrap").
}

provider "aws" {
  region = var.region

  default_tags {
    tags = local.common_tags
  }
}
