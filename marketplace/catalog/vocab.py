"""Controlled vocabularies: skills, certificates and languages, named in Chinese and English."""

from __future__ import annotations

from typing import Final

SKILLS: Final[dict[str, tuple[str, str]]] = {
    "housekeeping": ("家务保洁", "Housekeeping"),
    "deep_cleaning": ("深度保洁", "Deep cleaning"),
    "cooking": ("烹饪", "Cooking"),
    "personal_care": ("生活照料", "Personal care"),
    "nursing": ("医疗护理", "Nursing"),
    "rehabilitation": ("康复训练", "Rehabilitation"),
    "dementia_care": ("认知症照护", "Dementia care"),
    "disability_care": ("残疾人照护", "Disability care"),
    "escort": ("陪诊陪护", "Patient escort"),
    "plumbing": ("水管维修", "Plumbing"),
    "electrical": ("电路维修", "Electrical repair"),
    "appliance_repair": ("家电维修", "Appliance repair"),
    "locksmith": ("开锁换锁", "Locksmith"),
    "meal_delivery": ("送餐", "Meal delivery"),
}

CERTIFICATES: Final[dict[str, tuple[str, str]]] = {
    "elderly_carer": ("养老护理员职业技能等级证书", "Elderly carer certificate"),
    "domestic_worker": ("家政服务员证", "Domestic worker certificate"),
    "nurse_licence": ("护士执业证书", "Nurse practising licence"),
    "health_certificate": ("健康证", "Health certificate (food handling)"),
    "electrician": ("低压电工作业证", "Low-voltage electrician licence"),
    "rehab_therapist": ("康复治疗师证", "Rehabilitation therapist certificate"),
    "disability_carer": ("残疾人护理员证", "Disability carer certificate"),
}

LANGUAGES: Final[dict[str, tuple[str, str]]] = {
    "zh": ("普通话", "Mandarin"),
    "cdo": ("福州话", "Fuzhou dialect (Eastern Min)"),
    "nan": ("闽南话", "Southern Min"),
    "en": ("英语", "English"),
}
