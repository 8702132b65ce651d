#!/usr/bin/perl
# fms_client.pl: FixMyStreet's Open311 client, as it speaks to a server, for
# a test against a real antt-intake (tests/integration/test_open311_flow.c).
#
# Written after reading mySociety's perllib/Open311.pm and
# perllib/Open311/UpdatesBase.pm (github.com/mysociety/fixmystreet, AGPL-3.0,
# Copyright UK Citizens Online Democracy). Their module needs the whole of
# FixMyStreet (its database, cobrands, photo store), so this is not a copy of
# it but a driver that makes the same requests with the same CPAN modules
# (URI, LWP::UserAgent, HTTP::Request::Common, XML::Simple with the client's
# options, DateTime::Format::W3CDTF, Encode) and reads the answers the way
# the client does:
#   * paths appended to an endpoint ending in "/", only ".xml" asked for;
#   * the api_key only on the two POSTs and on GET servicerequestupdates;
#   * POST form-urlencoded, every value encoded as UTF-8;
#   * a problem sent with send_notpinpointed (address_id=#NOTPINPOINTED#, no
#     lat/long), use_service_as_deviceid (deviceid), attribute[...] fields,
#     first_name/last_name split from the name, and a description that is
#     "title\n\ndetail\n\nurl\n" with the detail's CRLF as a browser sent it;
#   * a service_request_id taken unless it is a reference (an empty element),
#     else the token resolved through tokens/{token}.xml, polled;
#   * errors read only as <errors><error><code/><description/>;
#   * updates: both dates or none, updated_datetime parsed with W3CDTF and
#     kept only inside the window, the status lowercased and mapped
#     (map_state), de-duplicated by update_id.
# Every check prints "ok <what>" or dies with "not ok <what>"; values the C
# test reads are printed as "key=value".
#
# usage: fms_client.pl ENDPOINT API_KEY submit
#        fms_client.pl ENDPOINT API_KEY updates REQUEST_ID
use strict;
use warnings;
use utf8;

use DateTime;
use DateTime::Format::W3CDTF;
use Encode;
use HTTP::Request::Common qw(GET POST);
use LWP::UserAgent;
use URI;
use XML::Simple;

binmode STDOUT, ':encoding(UTF-8)';

my ($endpoint, $api_key, $cmd, @args) = @ARGV;
die "usage: $0 ENDPOINT API_KEY submit|updates ...\n" unless $endpoint && $api_key && $cmd;

my %endpoints = (services => 'services.xml', requests => 'requests.xml',
                 service_request_updates => 'servicerequestupdates.xml', update => 'servicerequestupdates.xml');
my $last_error = '';

sub check {
    my ($ok, $what) = @_;
    die "not ok $what\n" . ($last_error ? "last error: $last_error\n" : '') unless $ok;
    print "ok $what\n";
}

# the client's parser: these group tags forced to arrays, no key folding,
# an empty element undef
sub xml_object {
    my $xml = shift;
    my %group = (services => 'service', attributes => 'attribute', values => 'value',
                 service_requests => 'request', errors => 'error',
                 service_request_updates => 'request_update', groups => 'group');
    my $simple = XML::Simple->new(ForceArray => [values %group], KeyAttr => {}, GroupTags => \%group,
                                  SuppressEmpty => undef);
    return eval { $simple->parse_string($xml) };
}

sub error_text {
    my $obj = xml_object(shift // '');
    my $msg = '';
    if (ref $obj && exists $obj->{error}) {
        $msg .= sprintf("%s: %s\n", $_->{code} || '???', $_->{description} || 'unknown error') for @{$obj->{error}};
    }
    return $msg || 'unknown error';
}

# one request as the client builds it: the path appended to the endpoint's
# path, the api_key added on POST only, values encoded as UTF-8
sub request {
    my ($method, $path, $params) = @_;
    $params ||= {};
    my $uri = URI->new($endpoint);
    $uri->path($uri->path . $path);
    $params->{api_key} = $api_key if $method eq 'POST';
    my %enc = map {
        my $v = $params->{$_};
        $_ => ref $v eq 'ARRAY' ? [map { encode('UTF-8', $_) } @$v] : encode('UTF-8', $v)
    } keys %$params;
    my $req;
    if ($method eq 'GET') {
        $uri->query_form(\%enc);
        $req = GET $uri->as_string;
    } else {
        $req = POST $uri->as_string, \%enc;
    }
    my $res = LWP::UserAgent->new(timeout => 30)->request($req);
    if ($res->is_success) {
        $last_error = '';
        return ($res->decoded_content, $res, $req);
    }
    $last_error = sprintf("request failed: %s\nerror: %s", $res->status_line, error_text($res->decoded_content));
    return (undef, $res, $req);
}

sub get_service_list { my ($x) = request(GET => $endpoints{services}); return $x ? xml_object($x) : undef; }
sub get_service_meta_info { my ($x) = request(GET => "services/$_[0].xml"); return xml_object($x // ''); }

sub get_service_request_id_from_token {
    my ($x) = request(GET => "tokens/$_[0].xml");
    my $obj = xml_object($x // '');
    return $obj && $obj->{request}->[0]->{service_request_id} ? $obj->{request}->[0]->{service_request_id} : 0;
}

# send_service_request: the id, or the token polled (the client's default
# O311_POLLING_INTERVAL 2 s and 5 tries; 0 s here, the test's time)
sub send_service_request {
    my $params = shift;
    my ($x, $res, $req) = request(POST => $endpoints{requests}, $params);
    return (0, $res, $req) unless $x;
    my $obj = xml_object($x);
    if (my $id = $obj->{request}->[0]->{service_request_id}) {
        return (ref $id ? 0 : $id, $res, $req);
    } elsif (my $token = $obj->{request}->[0]->{token}) {
        for (1 .. 5) {
            my $id = get_service_request_id_from_token($token);
            return ($id, $res, $req) if $id;
        }
    }
    return (0, $res, $req);
}

sub get_service_requests {
    my $args = shift;
    my $params = {};
    if ($args->{report_ids}) {
        $params->{service_request_id} = join ',', @{$args->{report_ids}};
        delete $args->{report_ids};
    }
    $params = {%$params, %$args};
    my ($x) = request(GET => $endpoints{requests}, $params);
    my $obj = xml_object($x // '');
    return $obj ? $obj->{request} : undef;
}

sub get_service_request_updates {
    my ($start, $end) = @_;
    my $params = {api_key => $api_key};
    if ($start || $end) {
        return 0 unless $start && $end;
        $params->{start_date} = $start;
        $params->{end_date} = $end;
    }
    my ($x) = request(GET => $endpoints{service_request_updates}, $params);
    return undef unless defined $x;
    return xml_object($x)->{request_update};
}

sub post_service_request_update {
    my $params = shift;
    my ($x) = request(POST => $endpoints{update}, $params);
    return 0 unless $x;
    my $obj = xml_object($x);
    my $id = $obj->{request_update}->[0]->{update_id};
    return $id && !ref $id ? $id : 0;
}

sub map_state {
    my ($state, $extended) = @_;
    $state = lc $state;
    $state =~ s/_/ /g;
    my %map = (fixed => 'fixed - council', 'not councils responsibility' => 'not responsible',
               'no further action' => 'unable to fix', open => 'confirmed',
               closed => $extended ? 'closed' : 'fixed - council');
    return $map{$state} || $state;
}

sub split_name {
    my $name = shift;
    return ('', '') unless $name;
    my ($first, $last) = ($name =~ /(\S+)(?:\.?\s+(.+))?/);
    return ($first || '', $last || '');
}

sub submit {
    my $services = get_service_list();
    check($services && ref $services->{service} eq 'ARRAY', 'services.xml parsed: ' . scalar @{$services->{service} || []} . ' services');
    my ($traffic) = grep { $_->{service_code} eq 'traffic' } @{$services->{service}};
    check($traffic && $traffic->{metadata} eq 'true', 'traffic has metadata=true');
    my $meta = get_service_meta_info('traffic');
    # GroupTags fold <attributes><attribute> and <values><value> into lists
    my ($injured) = grep { $_->{code} eq 'injured' } @{$meta->{attributes} || []};
    check($injured && $injured->{datatype} eq 'singlevaluelist' && grep({ $_->{key} eq 'yes' } @{$injured->{values} || []}),
          'services/traffic.xml: attribute injured with value yes');
    my ($bad) = request(GET => 'services/nope.xml');
    check(!defined $bad && scalar($last_error =~ /404 .*\nerror: 404: /s), 'an unknown service: 404 read as <errors>');

    # the problem as FixMyStreet sends it (send_notpinpointed, no pin, no postcode)
    my ($first, $last) = split_name('Nguyễn Văn An');
    my $detail = "Hai xe máy va chạm ở ngã tư.\r\nMột người nằm bất động.";
    my $params = {
        description => "Tai nạn ở ngã tư Lê Lợi\n\n$detail\n\nhttps://fms.example/report/42\n",
        service_code => 'traffic', first_name => $first, last_name => $last, email => 'an@example.org',
        address_id => '#NOTPINPOINTED#', deviceid => 'iOS', 'attribute[injured]' => 'yes',
        'attribute[plates]' => '59A-123.45, 59B-678.90',
    };
    my ($id, $res, $req) = send_service_request($params);
    check($id, "POST requests.xml: service_request_id $id");
    check($req->header('Content-Type') =~ m{^application/x-www-form-urlencoded}, 'posted form-urlencoded');
    check($req->content =~ /%0D%0A/ && $req->content =~ /address_id=%23NOTPINPOINTED%23/
          && $req->content =~ /deviceid=iOS/ && $req->content =~ /attribute%5Binjured%5D=yes/,
          'the body carries CRLF, address_id=#NOTPINPOINTED#, deviceid and attribute[injured]');
    print "service_request_id=$id\n";
    check(get_service_request_id_from_token($id) eq $id, 'tokens/{token}.xml gives the id');

    # read back without a key (what the client does): the status only
    my $public = get_service_requests({report_ids => [$id]});
    check($public && @$public == 1 && $public->[0]->{service_request_id} eq $id && $public->[0]->{status} eq 'open',
          'requests.xml?service_request_id without a key: status open');
    check(!exists $public->[0]->{description} && !exists $public->[0]->{address_id},
          'without a key: no description, no address_id');
    # and with the key: in full, the CRLF kept
    my $full = get_service_requests({report_ids => [$id], api_key => $api_key});
    check($full && @$full == 1 && $full->[0]->{description} =~ /ngã tư\.\r\nMột người/, 'with the key: the description, CRLF kept');
    check($full->[0]->{address_id} eq '#NOTPINPOINTED#', 'with the key: address_id #NOTPINPOINTED#');
    check(!defined $full->[0]->{lat}, 'no pin: lat empty');

    # a resident's follow-up, as post_service_request_update sends it
    my $upd = post_service_request_update({
        updated_datetime => DateTime::Format::W3CDTF->format_datetime(DateTime->now->set_nanosecond(0)),
        service_request_id => $id, status => 'OPEN', description => "Xe cấp cứu đã tới.\r\nĐường vẫn tắc.",
        last_name => $last, first_name => $first, email => 'an@example.org', update_id => 7,
    });
    check($upd, "POST servicerequestupdates.xml: update_id $upd");
    my $none = post_service_request_update({service_request_id => '00000000-0000-4000-8000-000000000000',
                                            description => 'x', status => 'OPEN'});
    check(!$none && scalar($last_error =~ /404 .*\nerror: 404: /s), 'an update of an unknown request: 404 read as <errors>');
}

# GetServiceRequestUpdates: the last two hours, each update inside the
# window, mapped, new ones once (de-duplicated by update_id)
sub updates {
    my $id = shift;
    my $now = DateTime->now;
    my @window = map { DateTime::Format::W3CDTF->format_datetime($_) } ($now->clone->add(hours => -2), $now->clone->add(seconds => 5));
    my %seen;
    for my $pass (1, 2) {
        my $requests = get_service_request_updates(@window);
        check(defined $requests, "pass $pass: servicerequestupdates.xml parsed");
        my $created = 0;
        for my $u (@$requests) {
            next unless defined $u->{update_id};
            my $t = eval { DateTime::Format::W3CDTF->parse_datetime($u->{updated_datetime} || '') };
            check($t, "update $u->{update_id}: updated_datetime $u->{updated_datetime} parses");
            my $at = DateTime::Format::W3CDTF->format_datetime($t->clone->set_time_zone('UTC'));
            next if $at lt $window[0] || $at gt $window[1];
            next unless $u->{service_request_id} && $u->{service_request_id} eq $id;
            next if $seen{$u->{update_id}}++;
            $created++;
            printf "update=%s status=%s state=%s extended=%s\n", $u->{update_id}, $u->{status},
                map_state($u->{status}, 0), map_state($u->{status}, 1);
        }
        print "pass=$pass created=$created\n";
    }
    my $one = get_service_request_updates($window[0], undef);
    check(defined $one && !$one, 'one date alone: the client asks nothing');
}

if ($cmd eq 'submit') { submit(); }
elsif ($cmd eq 'updates') { updates(@args); }
else { die "unknown command $cmd\n"; }
