#!/usr/bin/env python3
"""deploy/template.yaml (SAM) and deploy/cloudformation.yaml parse, and describe the three
functions of docs/lambda.md (and the reconciler), each with a handler the tbpay binary accepts;
and each deploys as an update of the Node.js functions' stack: their logical IDs, outputs,
exports and defaults.

Usage: templates_test.py TBPAY_BINARY DEPLOY_DIR
"""
import subprocess
import sys
import unittest

import yaml


class CloudFormationLoader(yaml.SafeLoader):
    """Accepts the short-form intrinsic functions (!Ref, !Sub, !GetAtt, ...)."""


def _intrinsic(loader, suffix, node):
    name = "Ref" if suffix == "Ref" else "Fn::" + suffix
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


CloudFormationLoader.add_multi_constructor("!", _intrinsic)

BINARY = DEPLOY = None

EXPECTED = {
    # handler: (function name stem, memory MB, timeout s, reserved concurrency)
    "webhook": ("webhook-handler", 512, 30, None),
    "outbox-processor": ("outbox-processor", 512, 300, 1),
    "outbox-cleanup": ("outbox-cleanup", 256, 300, 1),
}
SECRETS = ["DatabaseUrl", "KafkaPassword", "ZaloPayKey1", "ZaloPayKey2", "PayOSApiKey",
           "PayOSChecksumKey"]
# The Node.js stack's outputs; the URL and the three ARNs are exported as
# ${AWS::StackName}-<output name>.
NODE_OUTPUTS = ["WebhookApiUrl", "ZaloPayWebhookUrl", "PayOSWebhookUrl", "PaymentWebhookHandlerArn",
                "OutboxProcessorArn", "OutboxCleanupArn"]
NODE_EXPORTS = ["WebhookApiUrl", "PaymentWebhookHandlerArn", "OutboxProcessorArn",
                "OutboxCleanupArn"]
# Logical ID -> function handler, in both templates.
NODE_FUNCTIONS = {"PaymentWebhookHandlerFunction": "webhook",
                  "OutboxProcessorFunction": "outbox-processor",
                  "OutboxCleanupFunction": "outbox-cleanup"}
PARAMETERS = ["Environment", "VpcId", "PrivateSubnetIds", "DatabaseUrl", "KafkaBrokers",
              "KafkaUsername", "KafkaPassword", "ZaloPayAppId", "ZaloPayKey1", "ZaloPayKey2",
              "PayOSClientId", "PayOSApiKey", "PayOSChecksumKey"]


def load(name):
    with open(f"{DEPLOY}/{name}") as f:
        return yaml.load(f, Loader=CloudFormationLoader)


def accepted_handlers():
    out = subprocess.run([BINARY, "lambda", "--list-handlers"], check=True,
                         capture_output=True, text=True).stdout
    return set(out.split())


class TemplateChecks:
    template_file = None
    function_type = None

    @classmethod
    def setUpClass(cls):
        cls.doc = load(cls.template_file)
        cls.all_resources = cls.doc["Resources"]
        # The reconciler is one self-contained block, checked by test_reconciler_*; the other
        # checks are about the three functions of the Node.js deployment.
        cls.resources = {k: v for k, v in cls.all_resources.items()
                         if not k.startswith("Reconciler")}
        cls.functions = {k: v for k, v in cls.resources.items() if v["Type"] == cls.function_type}

    def prop(self, fn, key):
        value = fn["Properties"].get(key)
        if value is None and self.function_type == "AWS::Serverless::Function":
            value = self.doc.get("Globals", {}).get("Function", {}).get(key)
        return value

    def test_every_function_runs_on_provided_al2023_with_a_handler_the_binary_accepts(self):
        handlers = accepted_handlers()
        self.assertEqual(len(self.functions), 3)
        seen = set()
        for name, fn in self.functions.items():
            self.assertEqual(self.prop(fn, "Runtime"), "provided.al2023", name)
            self.assertIn(fn["Properties"]["Handler"], handlers, name)
            seen.add(fn["Properties"]["Handler"])
        self.assertEqual(seen, set(EXPECTED))

    def test_names_memory_timeouts_and_concurrency_match_the_nodejs_deployment(self):
        for fn in self.functions.values():
            p = fn["Properties"]
            stem, memory, timeout, reserved = EXPECTED[p["Handler"]]
            self.assertEqual(p["FunctionName"],
                             {"Fn::Sub": f"ticketbottle-payment-{stem}-${{Environment}}"})
            self.assertEqual(p["MemorySize"], memory)
            self.assertEqual(p["Timeout"], timeout)
            self.assertEqual(p.get("ReservedConcurrentExecutions"), reserved)
            vpc = self.prop(fn, "VpcConfig")
            self.assertIn("SubnetIds", vpc)
            self.assertIn("SecurityGroupIds", vpc)

    def test_the_functions_keep_the_nodejs_logical_ids(self):
        self.assertEqual({k: v["Properties"]["Handler"] for k, v in self.functions.items()},
                         NODE_FUNCTIONS)
        self.assertEqual(self.resources["LambdaSecurityGroup"]["Type"], "AWS::EC2::SecurityGroup")

    def test_no_layers(self):
        self.assertFalse([k for k, v in self.resources.items()
                          if v["Type"] in ("AWS::Lambda::LayerVersion",
                                           "AWS::Serverless::LayerVersion")])
        for name, fn in self.functions.items():
            self.assertIsNone(self.prop(fn, "Layers"), name)

    def test_outputs_and_exports_are_the_nodejs_stacks(self):
        outputs = self.doc["Outputs"]
        for name in NODE_OUTPUTS:
            self.assertIn(name, outputs)
        for name in NODE_EXPORTS:
            self.assertEqual(outputs[name].get("Export"),
                             {"Name": {"Fn::Sub": "${AWS::StackName}-" + name}}, name)
        for name, handler in [("PaymentWebhookHandlerArn", "PaymentWebhookHandlerFunction"),
                              ("OutboxProcessorArn", "OutboxProcessorFunction"),
                              ("OutboxCleanupArn", "OutboxCleanupFunction")]:
            self.assertEqual(outputs[name]["Value"], {"Fn::GetAtt": [handler, "Arn"]})
        self.assertTrue(outputs["WebhookApiUrl"]["Value"]["Fn::Sub"].endswith(
            ".amazonaws.com/${Environment}"))

    def test_defaults_are_the_nodejs_stacks_and_the_binarys(self):
        params = self.doc["Parameters"]
        # The Node.js stack passed KAFKA_SSL 'true': plaintext to TLS brokers would fail.
        self.assertEqual(params["KafkaSsl"]["Default"], "true")
        # The binary's batch size (docs: a run drains batch after batch).
        self.assertEqual(params["OutboxBatchSize"]["Default"], 500)

    def test_parameters_are_kept_and_secrets_are_noecho(self):
        params = self.doc["Parameters"]
        for p in PARAMETERS:
            self.assertIn(p, params)
        for s in SECRETS:
            self.assertTrue(params[s].get("NoEcho"), s)

    def test_outbox_retention_is_left_to_tbpay_unless_the_parameter_is_given(self):
        # Unset, tbpay keeps published events 30 days in prod and 7 elsewhere, as the Node.js
        # deployment did: the template must not pin 7 for every environment.
        param = self.doc["Parameters"]["OutboxRetentionDays"]
        self.assertEqual(param["Default"], "")
        self.assertIn("HasOutboxRetentionDays", self.doc["Conditions"])
        settings = [self.doc.get("Globals", {}).get("Function", {})] + \
            [fn["Properties"] for fn in self.functions.values()]
        seen = 0
        for props in settings:
            variables = props.get("Environment", {}).get("Variables", {})
            if "OUTBOX_RETENTION_DAYS" in variables:
                seen += 1
                self.assertEqual(variables["OUTBOX_RETENTION_DAYS"],
                                 {"Fn::If": ["HasOutboxRetentionDays",
                                             {"Ref": "OutboxRetentionDays"},
                                             {"Ref": "AWS::NoValue"}]})
        self.assertGreater(seen, 0)

    def test_security_group_allows_postgres_kafka_and_https_out(self):
        groups = [r for r in self.resources.values() if r["Type"] == "AWS::EC2::SecurityGroup"]
        self.assertEqual(len(groups), 1)
        ports = {rule["FromPort"] for rule in groups[0]["Properties"]["SecurityGroupEgress"]}
        self.assertEqual(ports, {5432, 9092, 9094, 9096, 443})

    def test_four_alarms(self):
        alarms = {k: v["Properties"] for k, v in self.resources.items()
                  if v["Type"] == "AWS::CloudWatch::Alarm"}
        self.assertEqual(len(alarms), 4)
        self.assertEqual(alarms["WebhookErrorRateAlarm"]["Threshold"], 5)
        self.assertTrue(any("Expression" in m for m in alarms["WebhookErrorRateAlarm"]["Metrics"]))
        self.assertEqual(alarms["OutboxProcessorFailuresAlarm"]["EvaluationPeriods"], 4)
        self.assertEqual(alarms["OutboxDeadEventsAlarm"]["MetricName"], "OutboxDeadEvents")
        self.assertEqual(alarms["OutboxDeadEventsAlarm"]["Threshold"], 10)
        self.assertEqual(alarms["ColdStartAlarm"]["Threshold"], 3000)

    def test_outputs_give_the_two_webhook_urls(self):
        outputs = self.doc["Outputs"]
        self.assertTrue(outputs["ZaloPayWebhookUrl"]["Value"]["Fn::Sub"].endswith("/webhook/zalopay"))
        self.assertTrue(outputs["PayOSWebhookUrl"]["Value"]["Fn::Sub"].endswith("/webhook/payos"))


    def test_reconciler_function_runs_every_5_minutes_with_its_log_group_and_alarm(self):
        r = self.all_resources
        fn = r["ReconcilerFunction"]
        self.assertEqual(fn["Type"], self.function_type)
        p = fn["Properties"]
        self.assertEqual(p["Handler"], "reconciler")
        self.assertIn("reconciler", accepted_handlers())
        self.assertEqual(p["FunctionName"],
                         {"Fn::Sub": "ticketbottle-payment-reconciler-${Environment}"})
        self.assertEqual(self.prop(fn, "Runtime"), "provided.al2023")
        self.assertEqual(p["ReservedConcurrentExecutions"], 1)
        self.assertEqual(fn["DependsOn"], "ReconcilerLogGroup")
        variables = p["Environment"]["Variables"]
        for name, param in [("ZALOPAY_APP_ID", "ZaloPayAppId"), ("ZALOPAY_KEY1", "ZaloPayKey1"),
                            ("PAYOS_CLIENT_ID", "PayOSClientId"), ("PAYOS_API_KEY", "PayOSApiKey"),
                            ("PAYOS_CHECKSUM_KEY", "PayOSChecksumKey")]:
            self.assertEqual(variables[name], {"Ref": param}, name)
        self.assertIn("SSL_CERT_FILE", variables)
        self.assertEqual(r["ReconcilerLogGroup"]["Properties"]["LogGroupName"],
                         {"Fn::Sub": "/aws/lambda/ticketbottle-payment-reconciler-${Environment}"})
        rule = r["ReconcilerSchedule"]
        self.assertEqual(rule["Type"], "AWS::Events::Rule")
        self.assertEqual(rule["Properties"]["ScheduleExpression"], "rate(5 minutes)")
        self.assertEqual(rule["Properties"]["Targets"][0]["Arn"],
                         {"Fn::GetAtt": ["ReconcilerFunction", "Arn"]})
        permission = r["ReconcilerSchedulePermission"]["Properties"]
        self.assertEqual(permission["Principal"], "events.amazonaws.com")
        self.assertEqual(permission["FunctionName"], {"Ref": "ReconcilerFunction"})
        self.assertEqual(permission["SourceArn"], {"Fn::GetAtt": ["ReconcilerSchedule", "Arn"]})
        alarm = r["ReconcilerErrorsAlarm"]["Properties"]
        self.assertEqual(alarm["MetricName"], "Errors")
        self.assertEqual(alarm["Dimensions"],
                         [{"Name": "FunctionName", "Value": {"Ref": "ReconcilerFunction"}}])
        self.assertEqual(sorted(k for k in r if k.startswith("Reconciler")),
                         ["ReconcilerErrorsAlarm", "ReconcilerFunction", "ReconcilerLogGroup",
                          "ReconcilerSchedule", "ReconcilerSchedulePermission"])


class SamTemplate(TemplateChecks, unittest.TestCase):
    template_file = "template.yaml"
    function_type = "AWS::Serverless::Function"

    def test_no_log_groups_lambda_created_them(self):
        # The Node.js SAM stack declared none: Lambda created them, and declaring them now
        # would fail on the names.
        self.assertFalse([k for k, v in self.resources.items()
                          if v["Type"] == "AWS::Logs::LogGroup"])
        for fn in self.functions.values():
            self.assertNotIn("DependsOn", fn)

    def test_webhook_api_is_an_http_api(self):
        self.assertEqual(self.resources["WebhookApi"]["Type"], "AWS::Serverless::HttpApi")

    def events(self, handler):
        fn = next(f for f in self.functions.values() if f["Properties"]["Handler"] == handler)
        return list(fn["Properties"]["Events"].values())

    def test_http_api_route_and_schedules(self):
        [webhook] = self.events("webhook")
        self.assertEqual(webhook["Type"], "HttpApi")
        self.assertEqual(webhook["Properties"]["Method"], "POST")
        self.assertEqual(webhook["Properties"]["Path"], "/webhook/{provider}")
        [minute] = self.events("outbox-processor")
        self.assertEqual(minute["Properties"]["Schedule"], "rate(1 minute)")
        [day] = self.events("outbox-cleanup")
        self.assertEqual(day["Properties"]["Schedule"], "rate(1 day)")
        self.assertEqual(self.doc["Globals"]["Function"]["CodeUri"], "../build/lambda/tbpay.zip")


class PlainCloudFormation(TemplateChecks, unittest.TestCase):
    template_file = "cloudformation.yaml"
    function_type = "AWS::Lambda::Function"

    # Every resource of the Node.js stack that a tbpay resource replaces: logical ID -> type.
    NODE_RESOURCES = {
        "LambdaExecutionRole": "AWS::IAM::Role",
        "LambdaSecurityGroup": "AWS::EC2::SecurityGroup",
        "PaymentWebhookHandlerFunction": "AWS::Lambda::Function",
        "PaymentWebhookHandlerLogGroup": "AWS::Logs::LogGroup",
        "WebhookApi": "AWS::ApiGatewayV2::Api",
        "WebhookApiIntegration": "AWS::ApiGatewayV2::Integration",
        "WebhookApiRoute": "AWS::ApiGatewayV2::Route",
        "WebhookApiStage": "AWS::ApiGatewayV2::Stage",
        "WebhookApiLogGroup": "AWS::Logs::LogGroup",
        "WebhookApiLambdaPermission": "AWS::Lambda::Permission",
        "OutboxProcessorFunction": "AWS::Lambda::Function",
        "OutboxProcessorLogGroup": "AWS::Logs::LogGroup",
        "OutboxProcessorSchedule": "AWS::Events::Rule",
        "OutboxProcessorSchedulePermission": "AWS::Lambda::Permission",
        "OutboxCleanupFunction": "AWS::Lambda::Function",
        "OutboxCleanupLogGroup": "AWS::Logs::LogGroup",
        "OutboxCleanupSchedule": "AWS::Events::Rule",
        "OutboxCleanupSchedulePermission": "AWS::Lambda::Permission",
    }

    def test_every_resource_replacing_a_nodejs_one_keeps_its_logical_id(self):
        for logical_id, kind in self.NODE_RESOURCES.items():
            self.assertIn(logical_id, self.resources)
            self.assertEqual(self.resources[logical_id]["Type"], kind, logical_id)
        # Anything else of those types would be a namesake next to the Node.js one.
        for logical_id, r in self.resources.items():
            if r["Type"] in set(self.NODE_RESOURCES.values()):
                self.assertIn(logical_id, self.NODE_RESOURCES)

    def test_physical_names_are_the_nodejs_stacks(self):
        role = self.resources["LambdaExecutionRole"]["Properties"]
        self.assertEqual(role["RoleName"], {"Fn::Sub": "ticketbottle-payment-lambda-${Environment}"})
        for fn in self.functions.values():
            self.assertEqual(fn["Properties"]["Role"], {"Fn::GetAtt": ["LambdaExecutionRole", "Arn"]})
        api_logs = self.resources["WebhookApiLogGroup"]["Properties"]
        self.assertEqual(api_logs["LogGroupName"],
                         {"Fn::Sub": "/aws/apigateway/ticketbottle-payment-webhook-${Environment}"})
        stage = self.resources["WebhookApiStage"]["Properties"]
        self.assertEqual(stage["AccessLogSettings"]["DestinationArn"],
                         {"Fn::GetAtt": ["WebhookApiLogGroup", "Arn"]})

    def test_log_groups_have_the_function_names_and_a_retention(self):
        for logical_id, stem in [("PaymentWebhookHandlerLogGroup", "webhook-handler"),
                                 ("OutboxProcessorLogGroup", "outbox-processor"),
                                 ("OutboxCleanupLogGroup", "outbox-cleanup")]:
            g = self.resources[logical_id]["Properties"]
            self.assertEqual(g["LogGroupName"],
                             {"Fn::Sub": f"/aws/lambda/ticketbottle-payment-{stem}-${{Environment}}"})
            self.assertIn("RetentionInDays", g)

    def test_a_new_package_redeploys_through_its_key_or_version(self):
        # Code only changes (and Lambda only fetches the zip again) when S3Key or
        # S3ObjectVersion changes: both are parameters.
        params = self.doc["Parameters"]
        self.assertIn("CodeS3Key", params)
        self.assertEqual(params["CodeS3ObjectVersion"]["Default"], "")
        for name, fn in self.functions.items():
            code = fn["Properties"]["Code"]
            self.assertEqual(code["S3Key"], {"Ref": "CodeS3Key"}, name)
            self.assertEqual(code["S3ObjectVersion"],
                             {"Fn::If": ["HasCodeS3ObjectVersion", {"Ref": "CodeS3ObjectVersion"},
                                         {"Ref": "AWS::NoValue"}]}, name)

    def test_http_api_route_and_schedules(self):
        routes = [r["Properties"]["RouteKey"] for r in self.resources.values()
                  if r["Type"] == "AWS::ApiGatewayV2::Route"]
        self.assertEqual(routes, ["POST /webhook/{provider}"])
        rules = sorted(r["Properties"]["ScheduleExpression"] for r in self.resources.values()
                       if r["Type"] == "AWS::Events::Rule")
        self.assertEqual(rules, ["rate(1 day)", "rate(1 minute)"])
        principals = sorted(r["Properties"]["Principal"] for r in self.resources.values()
                            if r["Type"] == "AWS::Lambda::Permission")
        self.assertEqual(principals, ["apigateway.amazonaws.com", "events.amazonaws.com",
                                      "events.amazonaws.com"])


if __name__ == "__main__":
    BINARY, DEPLOY = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
