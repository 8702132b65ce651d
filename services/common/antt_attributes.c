/* antt_attributes: the service definitions' questions (antt_attributes.h). */
#include "antt_attributes.h"

#include <string.h>

#include <jansson.h>

#include "antt_danger.h"

#define S_YES_NO                                                                              \
    {                                                                                         \
        {"yes", "Có", "yes"}, {"no", "Không", "no"}, {"unknown", "Không rõ", "don't know"}, { \
            NULL, NULL, NULL                                                                  \
        }                                                                                     \
    }

/* Only where an answer is needed to act and the category is no emergency is
 * a question required: a report of a fire, a crash or violence is never
 * refused for an unanswered question. The urgent answers are the brief's P1:
 * someone hurt, trapped or in danger now. */
const antt_attr_t antt_attrs[] = {
    {"fraud", "amount_lost", "number", 0, "VND, digits only", "Số tiền bị mất (VND)", "Amount lost (VND)", {{0}},
     NULL, NULL, 0},
    {"fraud", "contact_channel", "singlevaluelist", 1, "", "Họ liên lạc với bạn bằng cách nào?",
     "How did they reach you?",
     {{"phone", "Điện thoại", "phone"}, {"online", "Trên mạng", "online"}, {"in_person", "Gặp trực tiếp", "in person"},
      {NULL, NULL, NULL}},
     NULL, NULL, 0},
    {"fraud", "bank", "string", 0, "", "Ngân hàng của bạn", "Your bank", {{0}}, NULL, NULL, 0},
    {"traffic", "injured", "singlevaluelist", 0, "", "Có ai bị thương không?", "Is anyone hurt?", S_YES_NO, "yes",
     "có người bị thương", ANTT_DANGER_AMBULANCE},
    {"traffic", "plates", "string", 0, "plates separated by commas", "Biển số các xe", "The vehicles' plates", {{0}},
     NULL, NULL, 0},
    {"fire", "trapped", "singlevaluelist", 0, "", "Có ai bị mắc kẹt không?", "Is anyone trapped?", S_YES_NO, "yes",
     "có người bị mắc kẹt", ANTT_DANGER_FIRE},
    {"fire", "still_burning", "singlevaluelist", 0, "", "Lửa còn cháy không?", "Is it still burning?", S_YES_NO, NULL,
     NULL, 0},
    {"theft", "vehicle_plate", "string", 0, "", "Biển số xe (nếu là xe)", "Vehicle plate (if a vehicle)", {{0}}, NULL,
     NULL, 0},
    {"theft", "taken", "multivaluelist", 0, "", "Bị lấy gì?", "What was taken?",
     {{"vehicle", "Xe", "vehicle"}, {"phone", "Điện thoại", "phone"}, {"money", "Tiền", "money"},
      {"documents", "Giấy tờ", "documents"}, {"jewellery", "Trang sức", "jewellery"}, {"other", "Khác", "other"},
      {NULL, NULL, NULL}},
     NULL, NULL, 0},
    {"domestic_violence", "in_danger", "singlevaluelist", 0, "", "Có ai đang gặp nguy hiểm ngay bây giờ không?",
     "Is someone in danger now?", S_YES_NO, "yes", "có người đang gặp nguy hiểm", ANTT_DANGER_POLICE},
    {"domestic_violence", "children", "singlevaluelist", 0, "", "Có trẻ em ở đó không?", "Are children present?",
     S_YES_NO, NULL, NULL, 0},
};

const size_t antt_attrs_count = sizeof(antt_attrs) / sizeof(antt_attrs[0]);

const antt_attr_t *antt_attr_find(const char *service, const char *code, size_t n)
{
    for (size_t i = 0; service && code && i < antt_attrs_count; i++)
        if (strcmp(antt_attrs[i].service, service) == 0 && strlen(antt_attrs[i].code) == n &&
            memcmp(antt_attrs[i].code, code, n) == 0)
            return &antt_attrs[i];
    return NULL;
}

const antt_attr_value_t *antt_attr_value(const antt_attr_t *a, const char *key)
{
    for (const antt_attr_value_t *x = a->values; key && x->key; x++)
        if (strcmp(x->key, key) == 0)
            return x;
    return NULL;
}

/* 1 when v (a string, or an array of strings) holds want */
static int s_holds(json_t *v, const char *want)
{
    if (json_is_string(v))
        return strcmp(json_string_value(v), want) == 0;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        if (json_is_string(e) && strcmp(json_string_value(e), want) == 0)
            return 1;
    }
    return 0;
}

unsigned antt_attr_urgent_services(const char *service, const char *answers)
{
    if (service == NULL || answers == NULL)
        return 0;
    json_t *doc = json_loads(answers, 0, NULL);
    unsigned mask = 0;
    for (size_t i = 0; json_is_object(doc) && i < antt_attrs_count; i++) {
        const antt_attr_t *a = &antt_attrs[i];
        json_t *v = a->urgent_value && strcmp(a->service, service) == 0 ? json_object_get(doc, a->code) : NULL;
        if (v && s_holds(v, a->urgent_value))
            mask |= a->urgent_services;
    }
    json_decref(doc);
    return mask;
}
