#!/usr/bin/env python3
"""py_client.py: the calls of Code for America's python Open311 client
(github.com/codeforamerica/open311_python, open311/open311.py), made as it
makes them, against a real antt-intake (tests/integration/test_open311.c).

Written after reading that client, not copied from it: it is Python 2 and
needs its api submodule. What it does, reproduced here with the standard
library: paths joined to an endpoint without a trailing slash, XML asked
for (its default format), jurisdiction_id sent empty on every GET (it is
'' when not configured), the api_key on GETs when configured (the template
its API class comes from adds it), the service definition asked as
service/{code}.xml (singular, not the spec's services/), the POST
form-urlencoded by urlencode(kwargs) with the README's fields
(service_code, address_string, names, phone, email, description,
media_url and, as any gateway of antt must, the api_key), and what it reads:
services/service, service_requests/request.

usage: py_client.py ENDPOINT API_KEY
Prints "ok <what>" per call, exits 1 at the first that fails.
"""
import sys
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

endpoint, api_key = sys.argv[1].rstrip('/'), sys.argv[2]


def call_api(path, key, **kwargs):
    kwargs['jurisdiction_id'] = ''
    if key:
        kwargs['api_key'] = api_key
    url = '%s/%s?%s' % (endpoint, path, urlencode(kwargs))
    with urllib.request.urlopen(url, timeout=30) as r:
        return ET.fromstring(r.read())


def check(ok, what):
    if not ok:
        print('not ok ' + what)
        sys.exit(1)
    print('ok ' + what)


def main():
    for key in (False, True):
        who = 'with the key' if key else 'without a key'
        services = call_api('services.xml', key)
        check(services.tag == 'services' and len(services.findall('service')) == 16,
              'service_list %s: services/service' % who)
        definition = call_api('service/fire.xml', key)
        check(definition.tag == 'service_definition' and definition.findtext('service_code') == 'fire',
              'service_definition(\'fire\') %s: service/fire.xml' % who)
    # post_service_request, the README's fields
    body = urlencode({'api_key': api_key, 'service_code': 'public_order', 'address_string': '123 Lê Lợi',
                      'first_name': 'John', 'last_name': 'Smith', 'phone': '0901234567',
                      'email': 'me@example.org', 'description': 'Karaoke ồn ào sau nửa đêm',
                      'media_url': 'http://imgur.com/123_street.png'}).encode()
    try:
        with urllib.request.urlopen(endpoint + '/requests.xml', body, timeout=30) as r:
            posted = ET.fromstring(r.read())
    except urllib.error.HTTPError as e:
        check(False, 'post_service_request: %d %s' % (e.code, e.read().decode()))
    rid = posted.findtext('request/service_request_id')
    check(posted.tag == 'service_requests' and rid, 'post_service_request: service_requests/request/service_request_id')
    for key in (False, True):
        who = 'with the key' if key else 'without a key'
        one = call_api('requests/%s.xml' % rid, key)
        check(one.findtext('request/service_request_id') == rid and one.findtext('request/status') == 'open',
              'get_service_request %s: requests/{id}.xml' % who)
        token = call_api('tokens/%s.xml' % rid, key)
        check(token.findtext('request/service_request_id') == rid, 'request_id_from_token %s: tokens/{token}.xml' % who)
    # service_requests: the gateway's own list with its key, the public one without
    mine = call_api('requests.xml', True)
    check(rid in [r.findtext('service_request_id') for r in mine.findall('request')],
          'service_requests() with the key: service_requests/request lists it')
    public = call_api('requests.xml', False)
    check(public.tag == 'service_requests', 'service_requests() without a key: the public list (its cells)')
    asked = call_api('requests.xml', False, service_request_id=rid)
    check([r.findtext('service_request_id') for r in asked.findall('request')] == [rid],
          'service_requests(service_request_id=...) without a key: its status')


main()
