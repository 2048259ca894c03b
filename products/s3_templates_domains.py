"""S3 templates domains: tags every SageMaker domain of an account (in the stack's region) with the
location of the SageMaker project templates in S3, `sagemaker:projectS3TemplatesLocation` =
`s3://bucket/prefix/`, which Studio needs to list them. An admin product (ml-admin portfolio), the
stack form of `smcat domains tag` for accounts across an organization: launch it as a StackSet to
the data science OUs, in every region that has Studio domains (domains are regional). Nothing in it
is specific to an account or a region, and its IAM role has a generated name (IAM is global), so
one StackSet serves every account and region.

* A Lambda-backed custom resource (generator/lambdas/tag_domains.py, inline) lists the domains and
  tags those whose tag is missing or different, on Create and on Update (a new TemplatesLocation);
  a repeated event writes nothing. It tags the domains that exist then: a domain created later is
  tagged by the next stack update or by `smcat domains tag`.
* On Delete it leaves the tags: the stack cannot tell a tag it set from one it found, and removing
  the instance from an account (a StackSet does when the account leaves the OU) must not hide the
  templates from Studio users unasked.
* Its role may list domains (ListDomains has no resource-level permissions), read the tags of this
  account's domains of this region and add that one tag to them, and write its own log group.
"""

from troposphere import GetAtt, Output, Parameter, Ref, Sub, Tags, Template, cloudformation, iam

from generator.blocks.lambda_function import inline_function, log_group
from generator.blocks.policy import policy_document
from generator.blocks.project import parameter_groups
from generator.blocks.projectroles import allow, service_trust
from generator.blocks.security import skip_check
from generator.lambdas.tag_domains import LOCATION, TAG_KEY
from generator.product import Product

PRODUCT_NAME = "s3-templates-domains"
LOCATION_PARAMETER = "TemplatesLocation"
# One function per account and region: a second stack would fight the first over the tag's value.
FUNCTION_NAME = "sagemaker-projects-domain-tagger"
DOMAINS = "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:domain/*"


class DomainTemplatesLocation(cloudformation.CustomResource):
    resource_type = "Custom::SageMakerDomainTemplatesLocation"


def template() -> Template:
    t = Template(Description="Tags the SageMaker domains of this account and region with the location of the "
                 "SageMaker project templates in S3, so Studio lists them (smcat s3-templates-domains).")

    t.add_parameter(Parameter(
        LOCATION_PARAMETER, Type="String", MinLength=8, MaxLength=255, AllowedPattern=f"^{LOCATION}$",
        Description=f"Where the project templates are, s3://bucket/prefix/ (smcat's s3_templates bucket and prefix): "
        f"the value of each domain's {TAG_KEY} tag. A trailing / is added.",
        ConstraintDescription="s3://bucket/prefix/: a bucket name, then letters, digits and _ . : = + @ - "
        "between slashes",
    ))
    parameter_groups(t, {"S3 templates": [LOCATION_PARAMETER]})

    tags = Tags({"smcat:product": PRODUCT_NAME})
    logs_group = t.add_resource(log_group("TaggerLogGroup", FUNCTION_NAME, tags))
    skip_check(logs_group, "CKV_AWS_158", "Logs hold domain ids and the S3 location only; no key to manage per "
               "account.")

    role = t.add_resource(iam.Role(
        "TaggerRole",
        Description="Runs the domain tagger: lists this region's SageMaker domains and tags them.",
        AssumeRolePolicyDocument=policy_document(service_trust("lambda.amazonaws.com")),
        Policies=[iam.Policy(PolicyName="tag-sagemaker-domains", PolicyDocument=policy_document(
            allow("WriteLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], GetAtt(logs_group, "Arn")),
            # ListDomains has no resource type (Service Authorization Reference): "*", read-only.
            allow("ListDomains", ["sagemaker:ListDomains"], "*"),
            allow("ReadDomainTags", ["sagemaker:ListTags"], Sub(DOMAINS)),
            # This one tag only (aws:TagKeys: the keys in the request).
            allow("TagDomains", ["sagemaker:AddTags"], Sub(DOMAINS),
                  {"ForAllValues:StringEquals": {"aws:TagKeys": [TAG_KEY]}}),
        ))],
        Tags=tags,
    ))

    function = t.add_resource(inline_function(
        "TaggerFunction",
        FUNCTION_NAME,
        f"Tags the SageMaker domains of the account with {TAG_KEY} (custom resource).",
        "tag_domains",
        GetAtt(role, "Arn"),
        {},
        tags,
        timeout=300,
        memory=128,
    ))
    del function.properties["Environment"]  # nothing to configure: the location comes with each event
    function.DependsOn = [logs_group.title]
    skip_check(function, "CKV_AWS_117", "Calls the SageMaker API only; no VPC resources to reach.")
    skip_check(function, "CKV_AWS_116", "Invoked synchronously by CloudFormation, which reports each failure on the "
               "stack; nothing to dead-letter.")
    skip_check(function, "CKV_AWS_115", "Runs on stack events only; reserved concurrency fails in accounts at the "
               "minimum concurrency quota.")

    tagged = t.add_resource(DomainTemplatesLocation(
        "DomainTemplatesLocation",
        ServiceToken=GetAtt(function, "Arn"),
        ServiceTimeout=600,  # the function answers within its 300 s timeout; a lost answer fails in 10 minutes
        TemplatesLocation=Ref(LOCATION_PARAMETER),
    ))

    t.add_output([
        Output("TemplatesLocation", Description=f"The {TAG_KEY} value the domains carry.",
               Value=GetAtt(tagged, "Location")),
        Output("DomainsTagged", Description="The domains the last create or update tagged (none: all were already "
               "tagged).", Value=GetAtt(tagged, "Tagged")),
    ])
    return t


PRODUCT = Product(
    name=PRODUCT_NAME,
    description="Tags the SageMaker domains of an account and region with the location of the SageMaker project "
    "templates in S3 (sagemaker:projectS3TemplatesLocation), so Studio lists them. Launch as a StackSet to the data "
    "science OUs in every region with Studio domains; deleting it leaves the tags.",
    owner="ML platform team",
    version="1.0.0",
    studio_project=False,
    template=template,
    test_parameters={LOCATION_PARAMETER: "s3://$[taskcat_autobucket]/sagemaker-templates/"},
)
