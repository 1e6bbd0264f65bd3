resource "aws_security_group" "bastion" {
  name = "bastion"

  ingress {
    description = "SSH from admins"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = var.admin_cidrs
  }

  dynamic "ingress" {
    for_each = [3389]
    content {
      from_port = 3389
      to_port   = 3389
      protocol  = "tcp"
      cidr_blocks = [
        "10.0.0.0/8",
        "0.0.0.0/0",
      ]
    }
  }

  ingress {
    from_port        = 0
    to_port          = 0
    protocol         = "-1"
    ipv6_cidr_blocks = ["::/0"]
  }
}

module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.8.1"
  cidr    = "10.0.0.0/16"
}
