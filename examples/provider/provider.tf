# Configures the provider. Every argument falls back to environment variables, so
# `provider "atlas" {}` works when, for a service account, MONGODB_ATLAS_CLIENT_ID and
# MONGODB_ATLAS_CLIENT_SECRET are set, or, for an API key, MONGODB_ATLAS_PUBLIC_API_KEY and
# MONGODB_ATLAS_PRIVATE_API_KEY. Set one kind: a service account is used before an API key.

terraform {
  required_providers {
    atlas = {
      source  = "local/atlas"
      version = "0.1.0"
    }
  }
}

variable "atlas_client_id" {
  description = "An Atlas service account's client id; null falls back to the environment."
  type        = string
  default     = null
}

variable "atlas_client_secret" {
  description = "The service account's secret; null falls back to the environment."
  type        = string
  default     = null
  sensitive   = true
}

variable "atlas_public_key" {
  description = "The public half of an Atlas programmatic API key; null falls back to the environment."
  type        = string
  default     = null
}

variable "atlas_private_key" {
  description = "The private half of the API key; null falls back to the environment."
  type        = string
  default     = null
  sensitive   = true
}

provider "atlas" {
  client_id     = var.atlas_client_id
  client_secret = var.atlas_client_secret
  public_key    = var.atlas_public_key
  private_key   = var.atlas_private_key

  # "auto" (the default) moves to the v2 routes by itself when Atlas has retired v1.0;
  # "v2" skips the probe.
  api_version = "auto"

  # For Atlas for Government:
  # is_mongodbgov_cloud = true
}
